"""From `data:` in the config to a Dataset: picks the loader for the source's format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from dlflow.data.table_files import check_regular, read_table
from dlflow.errors import DataError

if TYPE_CHECKING:  # NumPy: not for `dlflow validate`, which only detects the format
    from dlflow.data.dataset import Dataset

SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz"}

# Loaders for formats provided by other modules register here: format -> loader(data_cfg, task).
EXTRA_LOADERS: dict[str, Callable[[Any, str | None], Dataset]] = {}


def detect_format(source: str) -> str:
    """The data format a source implies (`builtin:` prefix, file suffix, or folder)."""
    if source.startswith("builtin:"):
        return "builtin"
    path = Path(source)
    if path.is_dir():
        return "image_dir" if _has_images(path) else "text_dir"
    return SUFFIX_FORMATS.get(path.suffix.lower(), "unknown")


def load_dataset(data: Any, task: str | None) -> Dataset:
    """Load the data a config's `data:` section describes; an option it cannot use is an error.

    Args:
        data: the config's DataConfig (its `source` already resolved to an absolute path).
        task: the config's task, or None to infer it from the target.
    """
    from dlflow.data.no_target import check_no_target_options, wants_no_target, without_target
    from dlflow.data.options import check_options_apply

    if wants_no_target(data):
        check_no_target_options(data, task)
        fmt = data.format if data.format != "auto" else detect_format(data.source)
        if fmt not in ("builtin", "npz", "image_dir", "text_dir"):
            raise DataError(
                f"{data.source}: data.target: none applies to images, text folders, .npz arrays and "
                f"built-ins; {fmt} data needs a target",
                config_path=("data", "target"),
            )
        dataset = without_target(_load(data.model_copy(update={"target": None}) if fmt == "builtin" else data, None))
    else:
        dataset = _load(data, task)
    check_options_apply(data, dataset)
    return dataset


def _load(data: Any, task: str | None) -> Dataset:
    source = data.source
    fmt = data.format if data.format != "auto" else detect_format(source)
    if fmt == "builtin":
        from dlflow.data.builtin import load_builtin

        try:
            return load_builtin(source.removeprefix("builtin:"), task=task, target=_one_target(data.target), data=data)
        except DataError as exc:
            exc.config_path = exc.config_path or ("data", "source")
            raise
    path = Path(source)
    if not path.exists():
        raise DataError(f"no such file or folder '{source}'", config_path=("data", "source"))
    check_regular(path, config_path=("data", "source"))
    if fmt in ("csv", "tsv", "parquet") and data.format == "auto" and data.window is not None:
        fmt = "timeseries"  # a table with data.window is a series to forecast
    if fmt in ("csv", "tsv", "parquet"):
        from dlflow.data.tabular import dataset_from_frame

        return dataset_from_frame(
            read_table(path, fmt),
            target=data.target,
            features=data.features,
            task=task,
            source=str(path),
            missing=data.missing,
            first_line=None if fmt == "parquet" else 2,
        )
    if fmt == "npz":
        from dlflow.data.arrays import load_npz

        return load_npz(path, target=data.target, features=data.features, task=task)
    if fmt == "image_dir":
        from dlflow.data.images import load_image_dir

        return load_image_dir(data, task)
    if fmt == "text_dir":
        from dlflow.data.text import load_text_dir

        return load_text_dir(data, task)
    if fmt == "timeseries":
        from dlflow.data.timeseries import load_timeseries

        return load_timeseries(data, task)
    if fmt in EXTRA_LOADERS:
        return EXTRA_LOADERS[fmt](data, task)
    raise DataError(
        f"cannot tell the format of '{source}': expected a .csv, .tsv, .parquet or .npz file, a folder, "
        f"or builtin:<name>; set data.format",
        config_path=("data", "format"),
    )


def _one_target(target: str | list[str] | None) -> str | None:
    return target[0] if isinstance(target, list) and len(target) == 1 else target  # type: ignore[return-value]


def _has_images(folder: Path) -> bool:
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
    return any(p.suffix.lower() in suffixes for p in folder.rglob("*") if p.is_file())
