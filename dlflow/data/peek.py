"""The names of a data source's model inputs, told cheaply (no TensorFlow, no full load).

For `dlflow validate`: a CSV's header line, a parquet file's schema, an .npz file's zip
directory, a folder's kind. The answer is every name the data *can* give, so a name outside it
is certainly wrong; columns the loader later leaves out (identifiers, inferred from the values)
are only found when the data is loaded.

```python
input_names(loaded.config.data)   # ['radius', 'texture', ...], or None when it cannot tell
```
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from dlflow.data.names import safe_name


def input_names(data: Any) -> list[str] | None:
    """The input names `data` (a config's DataConfig, source resolved) can give, or None if unknown.

    None for built-in data sets, a missing or unreadable source, or a format without a cheap
    answer: those are checked when the data is loaded.
    """
    from dlflow.data.sources import detect_format

    source = data.source
    fmt = data.format if data.format != "auto" else detect_format(source)
    if fmt == "builtin" or not Path(source).exists():
        return None
    if fmt == "image_dir":
        return ["image"]
    if fmt == "text_dir":
        return ["text"]
    if fmt == "timeseries" or (fmt in ("csv", "tsv", "parquet") and data.window is not None):
        return ["series"]
    targets = [data.target] if isinstance(data.target, str) else list(data.target or [])
    ignored = {name for name, kind in (data.features or {}).items() if kind == "ignore"}
    if fmt in ("csv", "tsv", "parquet"):
        columns = _table_columns(Path(source), fmt)
    elif fmt == "npz":
        columns = _npz_keys(Path(source))
    else:
        return None
    if columns is None:
        return None
    return [safe_name(c) for c in columns if c not in targets and c not in ignored]


def _table_columns(path: Path, fmt: str) -> list[str] | None:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return [str(name) for name in pq.read_schema(path).names]
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle, delimiter="\t" if fmt == "tsv" else ","), None)
    except (OSError, UnicodeDecodeError, csv.Error, ImportError, ValueError):
        return None


def _npz_keys(path: Path) -> list[str] | None:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:  # reads the zip directory only
            return list(archive.files)
    except (OSError, ValueError):
        return None
