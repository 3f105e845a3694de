"""Writing run files: atomically (a temporary file in the same folder, then a rename) and with the
permissions any new file gets under the user's umask, whoever the writer.

```python
write_text(run.config, text)
write_json(run.manifest, data)
with atomic_path(run.path / "split.npz") as tmp:   # for writers that want a path
    np.savez(tmp, ...)
```

A failed write leaves the old file as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path next to `path`; renamed onto `path` when the block succeeds, removed if not.

    Args:
        suffix: added to the temporary name (for writers that insist on an extension, e.g. `.npz`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str, *, newline: str | None = None) -> None:
    """Write a UTF-8 text file atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)


def write_json(path: Path, data: Any, default: Callable[[Any], Any] | None = None) -> None:
    """Write JSON (indented, with a final newline) atomically."""
    write_text(path, json.dumps(data, indent=2, default=default) + "\n")
