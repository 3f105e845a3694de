"""Reading `.npz` archives safely: every member's header is checked before any array is allocated.

A damaged or hostile file ends in a DataError naming it: not a zip archive (a `.npy` named `.npz`),
a truncated or corrupt archive, pickled objects, or a header claiming more bytes than the archive
holds (an 8 TB shape in a few bytes) or than the machine has.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from dlflow.errors import DataError


def read_npz(path: Path, *, config_path: tuple = ("data", "source")) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, by name (DataError for anything but a sound archive)."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            start = handle.read(6)
        what = "a .npy file, not an .npz archive" if start == b"\x93NUMPY" else "not an .npz (zip) archive"
        raise DataError(f"{path}: {what}", config_path=config_path)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.filename.endswith(".npy"):
                    _check_header(path, archive, member, config_path)
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        KeyError,
        MemoryError,
    ) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable .npz file ({reason})", config_path=config_path) from exc


def _check_header(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, config_path: tuple) -> None:
    """Refuse a member whose header claims more bytes than it holds, or than memory."""
    from dlflow.config.safety import memory_bytes

    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in readers:
            return  # format 3.0 (utf-8 field names): np.load checks it
        shape, _, dtype = readers[version](handle)
    if dtype.hasobject:
        raise DataError(
            f"{path}: array '{member.filename[:-4]}' holds Python objects; dlflow reads only "
            f"plain numeric or string arrays",
            config_path=config_path,
        )
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > member.file_size or claimed > memory_bytes():
        raise DataError(
            f"{path}: array '{member.filename[:-4]}' claims shape {tuple(shape)} ({claimed:,} bytes) "
            f"but the archive holds {member.file_size:,} bytes for it: a damaged or forged file",
            config_path=config_path,
        )
