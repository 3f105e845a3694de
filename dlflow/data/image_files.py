"""An image folder's files as a lazy array, and the cheap check of every file before training.

`ImageFiles` stands where an in-memory dataset holds an array of pixels: it has the array's
`shape`, `dtype` and `len`, indexing it with sample indices gives the subset of files (so the
frozen split and K-fold pick files, not pixels), and only `np.asarray` (a bounded sample: the
shallow baselines, the export parity check) decodes. Training, validation, evaluation and the
overfit check read it through `dlflow.data.image_stream` (a tf.data pipeline over the files).

`scan_files` reads each file once: its content digest (the split's fingerprint and the
duplicate check are over relative paths and file contents, not decoded pixels), its header
(format, mode, size) and its end (a JPEG's end-of-image marker, a PNG's IEND chunk, a BMP's
declared length), so a truncated or foreign file is named before any training.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.data.image_headers import jpeg_header
from dlflow.data.progress import EVERY, report
from dlflow.errors import DataError

CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
FORMATS = {"JPEG", "PNG", "GIF", "BMP"}  # what tf.io.decode_image reads
TAIL = 4096  # bytes at a file's end searched for its format's end marker
CACHE_BUDGET = 1 << 30  # data.cache left out: memory when the decoded (uint8) folder fits 1 GiB
BAD_SHOWN = 5  # bad files named in one error


@dataclass
class ImageFiles:
    """Image files standing for a float32 array (samples, height, width, channels) of raw pixels.

    Args:
        root: the image folder.
        relpaths: each sample's path relative to `root`.
        digests: each sample's content digest (64-bit blake2b).
        size: (height, width) every image is resized to.
        color_mode: grayscale, rgb or rgba.
        cache: memory, disk or none (see `dlflow.data.image_stream`).
        cache_dir: where a disk cache lives (the experiment's folder), set once the run is known.
    """

    root: Path
    relpaths: np.ndarray
    digests: np.ndarray
    size: tuple[int, int]
    color_mode: str
    cache: str = "none"
    cache_dir: Path | None = field(default=None, repr=False)

    dtype = np.dtype("float32")

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.relpaths), *self.size, CHANNELS[self.color_mode])

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return len(self.relpaths)

    def __getitem__(self, index: Any) -> "ImageFiles":
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return replace(self, relpaths=self.relpaths[index], digests=self.digests[index])

    def paths(self) -> list[str]:
        """Each sample's absolute file path."""
        return [str(self.root / rel) for rel in self.relpaths]

    def decoded_bytes(self) -> int:
        """What the decoded images take in memory as uint8."""
        return int(np.prod(self.shape, dtype=np.int64))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Decode every file (only for bounded samples; training streams)."""
        from dlflow.data.image_stream import decode_all

        array = decode_all(self)
        return array if dtype is None else array.astype(dtype)

    def fingerprint_into(self, digest: Any) -> None:
        """Feed the relative paths and content digests to a hashlib digest (the data's fingerprint)."""
        digest.update(f"images {self.size} {self.color_mode}".encode())
        for rel, content in zip(self.relpaths, self.digests, strict=True):
            digest.update(str(rel).encode("utf-8", "surrogatepass") + b"\0" + int(content).to_bytes(8, "little"))


@dataclass
class Scanned:
    """What one pass over the files found: per good file its header facts and digest; the bad files."""

    files: list[Path]
    labels: list[str]
    modes: list[str]
    sizes: list[tuple[int, int]]  # (height, width)
    digests: list[int]
    bad: list[tuple[Path, str]]


def scan_files(files: list[Path], labels: list[str]) -> Scanned:
    """Read every file once: digest, header and end marker; bad files are set aside with their reason."""
    out = Scanned([], [], [], [], [], [])
    report("image files scanned", 0, len(files))
    for number, (file, label) in enumerate(zip(files, labels, strict=True), start=1):
        if number % EVERY == 0 or number == len(files):
            report("image files scanned", number, len(files))
        try:
            content = file.read_bytes()
        except OSError as exc:
            out.bad.append((file, f"cannot read: {exc.strerror or exc}"))
            continue
        found = check_image_bytes(content)
        if isinstance(found, str):
            out.bad.append((file, found))
            continue
        mode, (width, height) = found
        out.files.append(file)
        out.labels.append(label)
        out.modes.append(mode)
        out.sizes.append((height, width))
        out.digests.append(int.from_bytes(hashlib.blake2b(content, digest_size=8).digest(), "little"))
    return out


def check_image_bytes(content: bytes) -> tuple[str, tuple[int, int]] | str:
    """(PIL mode, (width, height)) of an image file's bytes from its header, or why it is bad.

    Nothing is decoded: the header is parsed, and the file's end is checked for its format's end
    marker (JPEG: FFD9 near the end; PNG: the IEND chunk; BMP: at least the length it declares).
    """
    from PIL import Image

    if not content:
        return "empty file"
    try:
        fast = jpeg_header(content, Image.MAX_IMAGE_PIXELS)  # most folders: JPEGs, read without PIL
        if fast is not None:
            fmt, (mode, size) = "JPEG", fast
        else:
            with Image.open(io.BytesIO(content)) as image:
                fmt, mode, size = image.format, image.mode, image.size
    except Image.DecompressionBombError:
        return f"more than {Image.MAX_IMAGE_PIXELS:,} pixels (PIL's decompression-bomb limit); refusing to decode it"
    except (OSError, ValueError, SyntaxError) as exc:  # PIL's ways of saying "not an image"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return "not an image" + ("" if reason.startswith("cannot identify") else f" ({reason})")
    if fmt not in FORMATS:
        return f"{fmt} image; image folders read JPEG, PNG, BMP and GIF"
    tail = content[-TAIL:]
    if fmt == "JPEG" and b"\xff\xd9" not in tail:
        return "truncated JPEG (no end-of-image marker)"
    if fmt == "PNG" and b"IEND" not in tail:
        return "truncated PNG (no IEND chunk)"
    if fmt == "BMP" and len(content) < int.from_bytes(content[2:6], "little"):
        return f"truncated BMP ({len(content)} bytes of the {int.from_bytes(content[2:6], 'little')} declared)"
    return mode, size


def bad_files_error(folder: Path, bad: list[tuple[Path, str]]) -> DataError:
    """One line naming the bad files (the first few) and what to do."""
    shown = "; ".join(f"{file}: {reason}" for file, reason in bad[:BAD_SHOWN])
    more = f" (and {len(bad) - BAD_SHOWN} more)" if len(bad) > BAD_SHOWN else ""
    return DataError(
        f"{len(bad)} unreadable image file{'s' if len(bad) > 1 else ''} in {folder}: {shown}{more}; "
        f"fix or remove {'them' if len(bad) > 1 else 'it'}, or set data.on_bad_file: skip",
        config_path=("data", "source"),
    )


def skipped_entries(folder: Path, bad: list[tuple[Path, str]]) -> list[dict[str, str]]:
    """The skipped files, JSON-ready (for the data card and the manifest)."""
    return [{"file": _rel(file, folder), "reason": reason} for file, reason in bad]


def resolve_cache(given: str | None, files: ImageFiles) -> tuple[str, str]:
    """(cache mode, why): data.cache when written, else memory when the decoded folder fits the budget."""
    if given is not None:
        return given, "data.cache"
    need = files.decoded_bytes()
    if need <= CACHE_BUDGET:
        return "memory", f"decoded folder {need / 2**20:,.0f} MiB <= 1 GiB budget"
    return "none", f"decoded folder {need / 2**20:,.0f} MiB > 1 GiB budget: decoded every epoch"


def _rel(file: Path, folder: Path) -> str:
    try:
        return str(file.relative_to(folder))
    except ValueError:
        return str(file)
