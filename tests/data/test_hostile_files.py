"""Damaged or hostile data files end in one data error naming the file, never a hang or traceback (issue #10)."""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli


def _npz(path: Path) -> str:
    np.savez(path, x=np.arange(20.0).reshape(10, 2), y=np.arange(10) % 2)
    return "y"


def fifo_csv(folder: Path) -> tuple[str, str]:
    os.mkfifo(folder / "data.csv")
    return "data.csv", r"data\.csv: a FIFO \(named pipe\), not a regular file"


def npy_named_npz(folder: Path) -> tuple[str, str]:
    np.save(folder / "data.npy", np.arange(10))
    (folder / "data.npy").rename(folder / "data.npz")
    return "data.npz", r"data\.npz: a \.npy file, not an \.npz archive"


def truncated_npz(folder: Path) -> tuple[str, str]:
    _npz(folder / "data.npz")
    raw = (folder / "data.npz").read_bytes()
    (folder / "data.npz").write_bytes(raw[: len(raw) // 2])
    return "data.npz", r"data\.npz: not an \.npz \(zip\) archive|data\.npz: not a readable \.npz file"


def huge_header_npz(folder: Path) -> tuple[str, str]:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": (1_000_000_000_000,)}
    )
    with zipfile.ZipFile(folder / "data.npz", "w") as archive:
        archive.writestr("x.npy", buffer.getvalue() + b"\0" * 64)
        y = io.BytesIO()
        np.save(y, np.arange(10))
        archive.writestr("y.npy", y.getvalue())
    return "data.npz", r"data\.npz: array 'x' claims shape \(1000000000000,\) \(8,000,000,000,000 bytes\)"


def bomb_png(folder: Path) -> tuple[str, str]:
    for label in ("a", "b"):
        (folder / "imgs" / label).mkdir(parents=True)
        (folder / "imgs" / label / "ok.png").write_bytes(_png(8, 8))
    (folder / "imgs" / "a" / "bomb.png").write_bytes(_png(20000, 20000))
    return "imgs", r"bomb\.png: more than [\d,]+ pixels \(PIL's decompression-bomb limit\)"


def big_text(folder: Path) -> tuple[str, str]:
    for label in ("a", "b"):
        (folder / "docs" / label).mkdir(parents=True)
        for i in range(3):
            (folder / "docs" / label / f"{i}.txt").write_text(f"some words {label} {i}")
    (folder / "docs" / "a" / "big.txt").write_bytes(b"word " * 4_200_000)
    return "docs", r"big\.txt: 21,000,000 bytes, more than data\.text\.max_file_bytes \(5,000,000\)"


def _png(width: int, height: int) -> bytes:
    """A grayscale PNG whose pixels are all zero (compresses to almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"\0" * ((width + 1) * height), 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


CASES = [fifo_csv, npy_named_npz, truncated_npz, huge_header_npz, bomb_png, big_text]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_a_hostile_data_file_is_one_data_error(make, tmp_path):
    source, pattern = make(tmp_path)
    target = "label" if source in ("imgs", "docs") else "y"
    (tmp_path / "c.yaml").write_text(
        f"name: hostile\ndata: {{source: {source}, target: {target}}}\n"
        "model: {sequential: [Flatten, {Dense: {units: 2}}]}\n"
    )
    done = run_cli("collect", "c.yaml", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), done.stderr[-2000:]


def test_an_empty_text_corpus_is_a_data_error_before_training(tmp_path):
    for label in ("a", "b"):
        (tmp_path / "docs" / label).mkdir(parents=True)
        for i in range(12):
            (tmp_path / "docs" / label / f"{i}.txt").write_text("  !! ..\n")
    (tmp_path / "c.yaml").write_text(
        "name: empty\ndata: {source: docs}\n"
        "model: {sequential: [{Embedding: {input_dim: 10, output_dim: 2}}, "
        "GlobalAveragePooling1D, {Dense: {units: 1, activation: sigmoid}}]}\n"
        "fit: {epochs: 1}\n"
    )
    done = run_cli("train", "c.yaml", cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "hold no words" in done.stderr and "Traceback" not in done.stderr
