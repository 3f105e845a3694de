"""The data a stage works on: the config's data loaded, the experiment's frozen split, its parts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlflow.config.located import located_errors
from dlflow.log import Log, quiet


@dataclass
class PreparedData:
    """The loaded data, its frozen split, and the split's parts.

    For a table streamed from disk (see `dlflow.data.streaming`), `dataset`, `train` and
    `validation` hold in-memory samples that stand for their parts (`to_tf_dataset` reads the
    whole part from disk), and `stream` is the result of the pass over the file.
    """

    dataset: Any
    split: Any
    split_created: bool
    train: Any
    validation: Any
    stream: Any = None

    def test(self) -> Any:
        """The test split (only `dlflow evaluate` should call this); a streamed table's is read into memory."""
        if self.stream is not None:
            return self.stream.part("test").load()
        return self.dataset.take(self.split.test)


def prepare_data(loaded: Any, runs_root: Path, log: Log = quiet, *, trained_on: dict | None = None) -> PreparedData:
    """Load the config's data and the experiment's frozen split (computing and storing it once).

    Large tables are streamed from disk (data.streaming): see `PreparedData`.

    Args:
        trained_on: for an existing run, its manifest's `data`: a missing split is computed again
            and stored only when it is the split the run was trained on (else a DataError).
    """
    from dlflow.data.sources import load_dataset
    from dlflow.data.split import frozen_split
    from dlflow.data.streaming import should_stream
    from dlflow.runs.layout import split_store

    config = loaded.config
    with located_errors(loaded):
        if should_stream(config.data):
            return _streamed_data(loaded, runs_root, log, trained_on)
        dataset = load_dataset(config.data, config.task)
        split, created = frozen_split(
            dataset,
            validation=config.data.split.validation,
            test=config.data.split.test,
            stratify=config.data.split.stratify,
            seed=config.seed,
            store=split_store(runs_root, config.name),
            trained_on=trained_on,
        )
        _image_files_facts(dataset, split_store(runs_root, config.name).parent, log)
    sizes = split.sizes()
    log(
        f"data: {dataset.source} ({dataset.kind}, {dataset.task}): train {sizes['train']}, "
        f"validation {sizes['validation']}, test {sizes['test']}" + (" (new split stored)" if created else "")
    )
    duplicates = split.duplicates or {}
    leaked = {k: duplicates.get(k, 0) for k in ("train_validation", "train_test", "validation_test")}
    if any(leaked.values()):
        log(
            "warning: samples with the exact inputs of a sample in another part: "
            + ", ".join(f"{k.replace('_', '/')} {n}" for k, n in leaked.items() if n)
            + " (see dlflow collect)"
        )
    return PreparedData(dataset, split, created, dataset.take(split.train), dataset.take(split.validation))


def _image_files_facts(dataset: Any, experiment_dir: Path, log: Log) -> None:
    """An image folder's files: where a disk cache lives; the cache chosen and the files skipped, said."""
    from dlflow.data.pipeline import image_files

    files = image_files(dataset)
    if files is None:
        return
    files.cache_dir = experiment_dir / "cache"
    log(f"data: image cache {files.cache} ({dataset.info.get('cache_reason', 'data.cache')})")
    skipped = dataset.info.get("skipped_files") or []
    if skipped:
        shown = ", ".join(f"{entry['file']} ({entry['reason']})" for entry in skipped[:5])
        log(
            f"warning: data.on_bad_file: skip left out {len(skipped)} bad image file(s): {shown}"
            + (" ..." if len(skipped) > 5 else "")
            + " (listed in the data card and the manifest)"
        )


def _streamed_data(loaded: Any, runs_root: Path, log: Log, trained_on: dict | None) -> PreparedData:
    """A table too large for memory: one pass for statistics and counts; parts read from disk later."""
    from dlflow.data.split import HashSplit, check_same_split, load_split, save_split
    from dlflow.data.streaming import scan_table
    from dlflow.runs.layout import split_store

    config = loaded.config
    log(f"data: {config.data.source}: streaming from disk in chunks of {config.data.streaming.chunk_rows:,} rows")
    table = scan_table(config.data, config.task, seed=config.seed, log=log)
    split = HashSplit(
        table.fingerprint, config.seed, (config.data.split.validation, config.data.split.test), table.rows, table.counts
    )
    store = split_store(runs_root, config.name)
    stored = load_split(store)
    created = not (isinstance(stored, HashSplit) and stored.describe() == split.describe())
    if created:
        if trained_on is not None:
            check_same_split(split, trained_on, store)
        save_split(split, store)
    sizes = split.sizes()
    sample = table.samples["train"]
    log(
        f"data: {table.layout.source} (tabular, {sample.task}, streamed): train {sizes['train']:,}, "
        f"validation {sizes['validation']:,}, test {sizes['test']:,}" + (" (new split stored)" if created else "")
    )
    return PreparedData(sample, split, created, sample, table.samples["validation"], stream=table)
