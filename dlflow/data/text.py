"""Text folders: one sub-folder per class of UTF-8 .txt files, one document per file.

```
news/
  business/001.txt  business/002.txt ...
  sport/001.txt ...
```

The sorted sub-folder names are the classes. Documents stay raw strings; the model's own
TextVectorization layer (adapted on the training split only, with data.text's options) turns
them into tokens, so an exported model takes raw strings too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.schema import TextOptions
from dlflow.data.dataset import Dataset, InputSpec
from dlflow.data.folders import class_files, target_name
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError

TEXT_SUFFIXES = (".txt",)


def load_text_dir(data: Any, task: str | None) -> Dataset:
    """Load `data.source`, a folder with one sub-folder of .txt files per class.

    Args:
        data: the config's DataConfig (`data.target` names the target, default "label").
        task: the config's task; inferred when None (two classes: binary, more: multiclass).

    Returns:
        A Dataset of kind "text" with one input "text" of shape (1,) (raw strings) and one
        target named after `data.target`.
    """
    folder = Path(data.source)
    files, labels = class_files(folder, TEXT_SUFFIXES, what="text files")
    texts = np.empty((len(files), 1), dtype=object)
    limit = data.text.max_file_bytes if data.text is not None else TextOptions().max_file_bytes
    for i, file in enumerate(files):
        texts[i, 0] = read_text(file, max_bytes=limit)
    encoded, spec = encode_target(np.asarray(labels, dtype=object), target_name(data.target), task,
                                 source=str(folder))
    words = np.array([len(t.split()) for t in texts[:, 0]])
    info = {"classes": sorted(set(labels)), "files": len(files),
            "per_class": {c: labels.count(c) for c in sorted(set(labels))},
            "words_per_document": {"median": float(np.median(words)), "max": int(words.max())}}
    return Dataset(
        kind="text",
        inputs={"text": texts},
        targets={spec.name: encoded},
        input_specs={"text": InputSpec("text", (1,), "string", "text")},
        target_specs={spec.name: spec},
        source=str(folder),
        info=info,
    )


def read_text(path: Path, max_bytes: int | None = None) -> str:
    """A UTF-8 text file's contents (a leading byte-order mark is dropped).

    Raises:
        DataError: the file cannot be read, is larger than `max_bytes` or is not UTF-8, naming
            the file (and the byte offset).
    """
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DataError(f"{path}: {size:,} bytes, more than data.text.max_file_bytes ({max_bytes:,}); "
                            f"split the document or raise the limit", config_path=("data", "text", "max_file_bytes"))
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})", config_path=("data", "source")) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x}); "
                        f"re-save it as UTF-8", config_path=("data", "source")) from exc
    return text.removeprefix("\ufeff")
