"""Data-file fuzzer: damaged tables, arrays, images and text folders through `dlflow collect`, in-process.

    python -m tests.fuzz.data_fuzz --examples 150     # prints one JSON line of counts

Each example writes one bad data source (a CSV with NaN/inf, empty targets, duplicate or non-ASCII
headers, bytes that are not UTF-8, ragged rows...; an .npz truncated, forged, pickled or complex; a
folder of broken, empty or oversized images or texts; a FIFO or a device named data.csv) and runs
`dlflow collect` on a config naming it. Every outcome must be exit 0 or exit 2 with a located line.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import Counts, cap_memory, generated_only, report, run_dlflow

CELLS = [
    "",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "x",
    "é",
    '"',
    "1,2",
    "True",
    "  ",
    "0x10",
    "-0",
    "1e-400",
    "9" * 40,
    "null",
]


def _table(draw) -> tuple[str, bytes]:
    rows = draw(st.integers(0, 40))
    header = ["a", "b", "c", "label"]
    change = draw(
        st.sampled_from(
            [
                "cells",
                "header_dup",
                "header_unicode",
                "ragged",
                "bytes",
                "empty_target",
                "bom",
                "one_class",
                "no_target",
                "empty",
            ]
        )
    )
    if change == "header_dup":
        header = ["a", "a", "c", "label"]
    elif change == "header_unicode":
        header = ["größe", "名前", "c d", "label"]
    lines = [",".join(header)]
    for i in range(rows):
        row = [str(i), str(i % 7 * 0.5), "abc"[i % 3], "yn"[i % 2] if change != "one_class" else "y"]
        if change == "cells":
            row[draw(st.integers(0, 3))] = draw(st.sampled_from(CELLS))
        elif change == "empty_target":
            row[3] = draw(st.sampled_from(["", "nan"]))
        elif change == "ragged" and draw(st.booleans()):
            row = row[: draw(st.integers(0, 5))]
        lines.append(",".join(row))
    text = "\n".join(lines) + "\n"
    if change == "no_target":
        text = text.replace("label", "lbl", 1)
    data = text.encode()
    if change == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif change == "bom":
        data = b"\xef\xbb\xbf" + data
    elif change == "empty":
        data = draw(st.sampled_from([b"", b"\n", b",,,\n", b"label\n"]))
    return "data.csv", data


def _npz(draw) -> tuple[str, bytes]:
    n = draw(st.integers(0, 30))
    arrays = {"x": np.arange(n * 2, dtype="float64").reshape(n, 2), "y": np.arange(n) % 2}
    change = draw(
        st.sampled_from(
            ["truncate", "flip", "forged", "complex", "object", "ragged", "nan", "npy", "strings", "scalar", "empty"]
        )
    )
    buffer = io.BytesIO()
    if change == "complex":
        arrays["x"] = arrays["x"].astype("complex64")
    elif change == "ragged":
        arrays["y"] = np.arange(n + 3) % 2
    elif change == "nan":
        arrays["x"][:, 0] = np.nan
        arrays["y"] = np.where(np.arange(n) % 3 == 0, np.nan, 1.0)
    elif change == "strings":
        arrays["y"] = np.array(["a", "b"] * (n // 2) + ["a"] * (n % 2))
    elif change == "scalar":
        arrays["x"] = np.float64(3.0)
    elif change == "empty":
        arrays = {}
    if change == "object":
        arrays["x"] = np.array([[1], [1, 2]] * max(n // 2, 1), dtype=object)
        np.savez(buffer, allow_pickle=True, **arrays)
    elif change == "npy":
        np.save(buffer, arrays["x"])
    elif change == "forged":
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": (draw(st.integers(10**6, 10**13)), 2)}
        )
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("x.npy", header.getvalue() + b"\0" * 32)
            y = io.BytesIO()
            np.save(y, arrays["y"])
            archive.writestr("y.npy", y.getvalue())
    else:
        np.savez(buffer, **arrays)
    data = buffer.getvalue()
    if change == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif change == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    return "data.npz", data


def _png(width: int, height: int, mode: int = 0) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    channels = {0: 1, 2: 3}[mode]
    rows = zlib.compress(b"\0" * ((width * channels + 1) * height), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0))
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


def _folder(draw, folder: Path) -> str:
    images = draw(st.booleans())
    suffix = ".png" if images else ".txt"
    change = draw(
        st.sampled_from(["corrupt", "empty_file", "bomb", "sizes", "junk", "one_class", "huge", "no_files", "non_utf8"])
    )
    root = folder / "src"
    for label in ("a", "b") if change != "one_class" else ("a",):
        (root / label).mkdir(parents=True)
        for i in range(draw(st.integers(1, 6)) if change != "no_files" else 0):
            body = _png(8, 8) if images else f"words {label} {i} text".encode()
            (root / label / f"{i}{suffix}").write_bytes(body)
    bad = root / "a" / f"bad{suffix}"
    if change == "corrupt":
        body = _png(8, 8) if images else b"text"
        bad.write_bytes(body[: draw(st.integers(0, len(body)))] + draw(st.binary(max_size=16)))
    elif change == "empty_file":
        bad.write_bytes(b"")
    elif change == "bomb" and images:
        bad.write_bytes(_png(draw(st.integers(12000, 30000)), draw(st.integers(12000, 30000))))
    elif change == "sizes" and images:
        bad.write_bytes(_png(draw(st.integers(1, 64)), draw(st.integers(1, 64)), draw(st.sampled_from([0, 2]))))
    elif change == "junk":
        bad.write_bytes(draw(st.binary(max_size=64)))
    elif change == "huge" and not images:
        bad.write_bytes(b"w " * 3_000_000)
    elif change == "non_utf8":
        bad.write_bytes(b"caf\xe9 \xff\xfe")
    return "src"


@st.composite
def sources(draw) -> tuple:
    return draw(st.sampled_from(["table", "table", "table", "npz", "npz", "folder", "folder", "special"])), draw(
        st.data()
    )


def fuzz(examples: int, root: Path) -> Counts:
    counts = Counts()
    seen = [0]

    @generated_only(examples)
    @given(sources())
    def one(drawn: tuple) -> None:
        kind, data = drawn
        seen[0] += 1
        folder = root / f"e{seen[0]}"
        folder.mkdir()
        target = "label"
        if kind == "table":
            name, body = _table(data.draw)
            (folder / name).write_bytes(body)
        elif kind == "npz":
            name, body = _npz(data.draw)
            (folder / name).write_bytes(body)
            target = "y"
        elif kind == "folder":
            name = _folder(data.draw, folder)
        else:
            name = "data.csv"
            special = data.draw(st.sampled_from(["fifo", "zero", "null", "dir_named_csv", "dangling"]))
            if special == "fifo":
                os.mkfifo(folder / name)
            elif special == "zero":
                os.symlink("/dev/zero", folder / name)
            elif special == "null":
                os.symlink("/dev/null", folder / name)
            elif special == "dir_named_csv":
                (folder / name).mkdir()
            else:
                os.symlink(folder / "nowhere", folder / name)
        (folder / "c.yaml").write_text(
            f"name: fuzz{seen[0]}\ndata: {{source: {name}, target: {target}}}\n"
            "model: {sequential: [Flatten, {Dense: {units: 2}}]}\n"
        )
        run_dlflow(
            ["--runs-dir", str(folder / "runs"), "collect", str(folder / "c.yaml")],
            counts,
            label=f"{kind}:{name} in {folder}",
            timeout=30,
        )

    one()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=150)
    parser.add_argument("--memory-gib", type=float, default=6.0)
    parser.add_argument("--keep", help="a folder to keep the generated files in (default: a temporary one)")
    args = parser.parse_args()
    cap_memory(args.memory_gib)
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        os.chdir(args.keep)
        report(fuzz(args.examples, Path(args.keep)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        report(fuzz(args.examples, Path(tmp)))


if __name__ == "__main__":
    main()
