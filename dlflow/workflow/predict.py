"""Batch prediction: a run's model on new raw inputs, labels decoded; the training data is not needed.

What the model takes and answers (its inputs, the class names, a time series' columns and
window) comes from the run's manifest. The input is:

- a table (.csv, .tsv, .parquet) with the model's input columns, read in chunks (`predict_stream`)
  and never held whole by `dlflow predict`; for a time series run, the raw
  series with the training table's columns, windowed as in training (one prediction per window,
  the latest window included; the `id` of a row is the row index of its window's last row);
- an .npz with the model's input arrays (for a time series, the windows themselves);
- an image or a folder of images (image models), decoded batch by batch as in training;
- a .txt file or a folder of .txt files (text-folder models): one prediction per file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.task_kinds import is_classification
from dlflow.errors import DataError, UsageError
from dlflow.log import Log, quiet
from dlflow.workflow.opened_run import RunSignature, load_run_model, open_run, run_signature
from dlflow.workflow.table_inputs import as_input, table_inputs

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
TEXT_SUFFIXES = (".txt",)
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")


def predict(
    run_ref: str,
    input_path: str | Path,
    *,
    runs_root: Path = Path("runs"),
    output: str | None = None,
    log: Log = quiet,
    trust_code: bool = False,
    keep_predictions: bool = True,
) -> dict[str, Any]:
    """Predict for every sample of `input_path`; write a CSV (to `output`, '-' for the text itself).

    Args:
        keep_predictions: also return every decoded label (a list as long as the input); False keeps
            memory flat however many rows there are (`dlflow predict` without --json).

    Returns:
        {"rows": n, "output": path or None, "csv": text when output is '-', "predictions": decoded labels
        (None when not kept)}.
    """
    from dlflow.workflow.predict_stream import csv_rows, input_batches

    opened = open_run(run_ref, runs_root, log, with_data=False, trust_code=trust_code)
    signature = run_signature(opened, log)
    inputs, ids = read_inputs(Path(input_path), signature, stream=True)
    model = load_run_model(opened)
    target_specs = {spec.name: spec for spec in signature.targets}
    batch_size = opened.loaded.config.fit.batch_size
    decoded: dict[str, list] = {name: [] for name in target_specs}
    target = None if output == "-" else Path(output) if output else opened.run.predictions
    done = 0
    with csv_rows(target) as (writer, buffer):
        for batch, batch_ids in input_batches(inputs, ids, batch_size):
            labelled = predict_labels(model, signature, batch, batch_size)
            if done == 0:
                writer.writerow(_header(target_specs, labelled))
            rows = _rows(target_specs, labelled, batch_ids, decoded if keep_predictions else None)
            writer.writerows(rows)
            done += len(rows)
    return {
        "rows": done,
        "output": str(target) if target else None,
        "csv": buffer.getvalue() if buffer is not None else None,
        "predictions": decoded if keep_predictions else None,
    }


def _header(target_specs: dict[str, Any], labelled: dict[str, tuple[Any, Any]]) -> list[str]:
    header = ["id"]
    for name, spec in target_specs.items():
        column = name if len(target_specs) > 1 else "prediction"
        header.append(column)
        if labelled[name][1] is not None and is_classification(spec.task):
            header.append(f"{column}_confidence")
    return header


def _rows(
    target_specs: dict[str, Any], labelled: dict[str, tuple[Any, Any]], ids: list, decoded: dict[str, list] | None
) -> list[list]:
    """One CSV row per sample of a batch: its id, then each target's label (and confidence)."""
    rows = [[i] for i in ids]
    for name, spec in target_specs.items():
        values, confidence = labelled[name]
        if decoded is not None:
            decoded[name].extend(_plain(v) for v in values)
        for row, value in zip(rows, values, strict=True):
            row.append(_plain(value))
        if confidence is not None and is_classification(spec.task):
            for row, c in zip(rows, confidence, strict=True):
                row.append(round(float(c), 6))
    return rows


def predict_labels(model: Any, signature: RunSignature, inputs: Any, batch_size: int) -> dict[str, tuple[Any, Any]]:
    """`model.predict` on raw inputs, decoded: `{target name: (labels, confidence or None)}`."""
    import contextlib
    import sys

    from dlflow.data.tasks import decode_predictions

    with contextlib.redirect_stdout(sys.stderr):
        raw = model.predict(_string_tensors(inputs), verbose=0, batch_size=batch_size)
    target_specs = {spec.name: spec for spec in signature.targets}
    outputs = raw if isinstance(raw, dict) else {next(iter(target_specs)): raw}
    return {name: decode_predictions(spec, np.asarray(outputs[name])) for name, spec in target_specs.items()}


def read_inputs(path: Path, signature: RunSignature, *, stream: bool = False) -> tuple[Any, list]:
    """Raw model inputs from a file or folder, shaped as the model's inputs; plus one id per row.

    Args:
        stream: an image folder as an `ImageStream`, a table as a `TableStream` (its ids None: the
            stream gives them) and a series' windows lazy (`predict` feeds them batch by batch); else
            every input as arrays.
    """
    inputs, ids = _read_inputs(path, signature, stream)
    return (inputs if stream or isinstance(inputs, (dict, np.ndarray)) else np.asarray(inputs)), ids


def _read_inputs(path: Path, signature: RunSignature, stream: bool) -> tuple[Any, list | None]:
    if not path.exists():
        raise UsageError(f"no such file or folder '{path}'")
    from dlflow.data.table_files import check_regular

    check_regular(path)
    specs = {spec.name: spec for spec in signature.inputs}
    suffix = path.suffix.lower()
    if signature.kind == "text" and (path.is_dir() or suffix in TEXT_SUFFIXES):
        return _read_texts(path)
    if path.is_dir() or suffix in IMAGE_SUFFIXES:
        return _read_images(path, specs)
    if suffix == ".npz":
        return _read_npz(path, specs, signature.kind)
    if suffix in TABLE_SUFFIXES and signature.kind == "timeseries" and signature.series:
        return _read_series(path, signature.series)
    if suffix in TABLE_SUFFIXES and stream:
        from dlflow.workflow.predict_stream import TableStream

        return TableStream(path, specs), None
    if suffix in TABLE_SUFFIXES:
        return _read_table(path, specs)
    text = ", a .txt file or a folder of .txt files" if signature.kind == "text" else ""
    raise UsageError(f"'{path}': expected a .csv, .tsv, .parquet or .npz file, an image, or a folder of images{text}")


def _read_texts(path: Path) -> tuple[Any, list]:
    """A .txt file, or every .txt file under a folder (sorted), as one raw string each."""
    from dlflow.data.text import read_text

    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in TEXT_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise DataError(f"{path}: no .txt files")
    else:
        files = [path]
    texts = np.asarray([[read_text(file)] for file in files], dtype=object)
    ids = [str(f.relative_to(path)) if path.is_dir() else f.name for f in files]
    return texts, ids


def _read_series(path: Path, series: dict[str, Any]) -> tuple[Any, list]:
    """The windows of a raw time series table, as the run's training made them (see the module doc)."""
    from dlflow.data.table_files import read_table
    from dlflow.data.timeseries import prediction_windows

    frame = read_table(path, path.suffix.lower().lstrip("."))
    windows, ends = prediction_windows(frame, series, str(path))
    return windows, [int(e) for e in ends]


def _read_table(path: Path, specs: dict[str, Any]) -> tuple[Any, list]:
    from dlflow.data.table_files import read_table

    frame = read_table(path, path.suffix.lower().lstrip("."))
    inputs = table_inputs(frame, specs, str(path))
    ids = frame["id"].tolist() if "id" in frame.columns else list(range(len(frame)))
    return inputs, ids


def _read_npz(path: Path, specs: dict[str, Any], kind: str) -> tuple[Any, list]:
    from dlflow.data.npzfile import read_npz

    arrays = read_npz(path, config_path=None)
    inputs = {}
    for name, spec in specs.items():
        key = spec.column if spec.column in arrays else name
        if key not in arrays:
            if len(specs) == 1 and len(arrays) == 1:
                key = next(iter(arrays))
            else:
                raise DataError(f"{path}: no array '{spec.column or name}'; arrays are: {', '.join(arrays)}")
        inputs[name] = as_input(arrays[key], spec, path, key)
    n = len(next(iter(inputs.values())))
    if len(inputs) == 1 and kind != "tabular":
        return next(iter(inputs.values())), list(range(n))
    return inputs, list(range(n))


def _read_images(path: Path, specs: dict[str, Any]) -> tuple[Any, list]:
    """An image or a folder of images (sorted) as a stream decoded batch by batch (`predict_stream`)."""
    from dlflow.workflow.predict_stream import image_stream

    image_specs = [s for s in specs.values() if s.role == "image"]
    if len(specs) != 1 or not image_specs:
        raise UsageError("image input needs a model with one image input")
    files = sorted(p for p in (path.rglob("*") if path.is_dir() else [path]) if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{path}: no images (.png, .jpg, .jpeg, .bmp, .gif)")
    ids = [str(f.relative_to(path)) if path.is_dir() else f.name for f in files]
    return image_stream(path, files, image_specs[0]), ids


def _string_tensors(inputs: Any) -> Any:
    """String arrays as tf.string tensors: Keras's predict rejects numpy object arrays."""
    import tensorflow as tf

    def convert(array: Any) -> Any:
        return (
            tf.constant(array, dtype=tf.string)
            if getattr(array, "dtype", None) is not None and array.dtype == object
            else array
        )

    return {k: convert(v) for k, v in inputs.items()} if isinstance(inputs, dict) else convert(inputs)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
