"""Atomic writes into the export folder: an artifact is either complete or absent.

Every artifact is first written into a private staging folder inside the export folder (same
file system), checked there, then moved into place with one `os.replace`. A crash or a failed
conversion therefore never leaves a half-written `model.onnx` or `saved_model/` behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

from dlflow.runs import files


@contextlib.contextmanager
def staging(export_dir: Path) -> Iterator[Path]:
    """A fresh hidden folder inside `export_dir`, removed with whatever is left in it."""
    path = Path(tempfile.mkdtemp(prefix=".staging-", dir=export_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def publish(src: Path, dest: Path) -> None:
    """Move a finished file or folder `src` to `dest`, replacing what was there.

    A file replaces a file atomically. A folder cannot be swapped atomically on POSIX, so the
    old one is first renamed aside, the new one renamed in, and the old one deleted: `dest` is
    always either the old complete artifact, absent for an instant, or the new complete one.
    """
    if src.is_dir():
        old = None
        if dest.exists() or dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(dest, old)
        os.replace(src, dest)
        if old is not None:
            remove(old)
    else:
        if dest.is_dir():
            remove(dest)
        os.replace(src, dest)


def remove(path: Path) -> bool:
    """Delete a file or folder if it exists; True when something was deleted."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
        return True
    if path.exists() or path.is_symlink():
        path.unlink()
        return True
    return False


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (`dlflow.runs.files`)."""
    files.write_text(path, text)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` (used inside the staging folder, so no rename is needed here)."""
    with open(path, "wb") as f:
        f.write(data)


def size_bytes(path: Path) -> int:
    """The size of a file, or the total size of the files under a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
