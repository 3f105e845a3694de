"""Data options that cannot take effect on the data loaded are errors, never silently ignored.

`data.image` applies to image folders, `data.text` to data with a text input (its
`sequence_length` only to token ids, `output_mode: int`), `data.window` to time series,
`data.features` to tables, .npz files and time series, `data.augment` to image inputs,
`data.cache` and `data.on_bad_file` to image folders, `data.missing` and `data.streaming` (other
than their defaults) to tables. Checked once the data is loaded (what a table's columns hold is
known only then).
"""

from __future__ import annotations

from typing import Any

from dlflow.errors import DataError


def check_options_apply(data: Any, dataset: Any) -> None:
    """Raise a located DataError for the first `data:` option the loaded `dataset` cannot use.

    Args:
        data: the config's DataConfig.
        dataset: the Dataset loaded from it.
    """
    kind = dataset.kind
    roles = {spec.role for spec in dataset.input_specs.values()}
    images_from_files = kind == "image" and not str(data.source).startswith("builtin:")
    from dlflow.config.schema import MissingConfig, StreamingConfig

    rules = (
        ("image", data.image is not None and not images_from_files, "applies to a folder of images (image_dir)"),
        (
            "text",
            data.text is not None and "text" not in roles,
            "applies to text inputs (a text folder, a text column or a string array), and this data has none",
        ),
        ("window", data.window is not None and kind != "timeseries", "applies to a time series table"),
        (
            "features",
            data.features is not None and kind not in ("tabular", "arrays", "timeseries"),
            "applies to tables, .npz files and time series",
        ),
        ("tfrecord", data.tfrecord is not None, "applies to TFRecord files (data.format: tfrecord)"),
        ("cache", data.cache is not None and not images_from_files, "applies to a folder of images (image_dir)"),
        (
            "on_bad_file",
            data.on_bad_file is not None and not images_from_files,
            "applies to a folder of images (image_dir)",
        ),
        ("augment", bool(data.augment) and "image" not in roles, "applies to image inputs, and this data has none"),
        (
            "missing",
            data.missing != MissingConfig() and kind != "tabular",
            "applies to tables (a time series needs every value; fill its gaps first)"
            if kind == "timeseries"
            else "applies to tables",
        ),
        (
            "streaming",
            data.streaming != StreamingConfig() and kind != "tabular",
            "applies to tables read from CSV or parquet files",
        ),
    )
    for option, unused, where in rules:
        if unused:
            raise DataError(
                f"data.{option} {where}; {dataset.source} is {_described(kind)}: remove data.{option}",
                config_path=("data", option),
            )
    _check_sequence_length(data, kind)


def _check_sequence_length(data: Any, kind: str) -> None:
    """`data.text.sequence_length` pads or cuts token ids; a bag-of-words vector has no length to set."""
    from dlflow.config.schema import TextOptions
    from dlflow.model.choices import default_text_mode

    text = data.text
    if text is None or text.sequence_length == TextOptions().sequence_length:
        return
    mode = text.output_mode or default_text_mode(kind)
    if mode != "int":
        how = "" if text.output_mode else " (the default for a table's text column)"
        raise DataError(
            f"data.text.sequence_length applies to token ids (output_mode: int), but the text is "
            f"vectorized as {mode}{how}, one vector per text; set output_mode: int or remove "
            f"sequence_length",
            config_path=("data", "text", "sequence_length"),
        )


def _described(kind: str) -> str:
    return {
        "tabular": "a table",
        "image": "image data",
        "text": "a text folder",
        "timeseries": "a time series",
        "arrays": "an .npz of arrays",
    }.get(kind, kind)
