"""Image folders stream from disk: split over files, cheap bad-file checks, mixed sizes, caching."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import cli_json, run_cli
from tests.data.kinds_helpers import assert_data_error, write_config

TINY_MODEL = ["Flatten", {"Dense": {"units": 3, "activation": "softmax"}}]


def _jpeg_folder(root: Path, per_class: int = 12) -> Path:
    """Three classes of small RGB JPEGs of mixed sizes (16x16 to 24x20)."""
    rng = np.random.default_rng(0)
    for c, label in enumerate(("red", "green", "blue")):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            height, width = (16, 16) if i % 2 else (24, 20)
            pixels = (rng.random((height, width, 3)) * 60).astype("uint8")
            pixels[..., c] += 180
            Image.fromarray(pixels, mode="RGB").save(root / label / f"{i:03d}.jpg", quality=90)
    return root


def _truncated_jpeg(path: Path) -> None:
    pixels = (np.random.default_rng(1).random((64, 64, 3)) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue()[: int(len(buffer.getvalue()) * 0.8)])  # header intact, no end marker


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = _jpeg_folder(tmp_path_factory.mktemp("jpegs") / "colours")
    _truncated_jpeg(root / "green" / "cut.jpg")
    return root


def test_a_truncated_jpeg_is_named_in_one_line(folder, tmp_path):
    config = write_config(tmp_path, "cut", {"source": str(folder), "image": {"size": [16, 16]}}, TINY_MODEL)
    message = assert_data_error(
        run_cli("collect", str(config), cwd=tmp_path),
        str(folder / "green" / "cut.jpg"),
        "truncated JPEG",
        "on_bad_file: skip",
    )
    assert "1 unreadable image file" in message


@pytest.fixture(scope="module")
def skipped_run(folder, tmp_path_factory):
    """Mixed sizes resized to 16x16, the truncated file skipped, one epoch."""
    work = tmp_path_factory.mktemp("skip")
    data = {"source": str(folder), "image": {"size": [16, 16]}, "on_bad_file": "skip"}
    config = write_config(work, "skip", data, TINY_MODEL)
    result = cli_json("train", str(config), cwd=work)
    return {"work": work, "config": config, "run": Path(result["run"]), "result": result}


def test_mixed_sizes_train_and_the_skipped_file_is_listed(skipped_run):
    manifest = json.loads((skipped_run["run"] / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["data"]["skipped_files"] == [
        {"file": "green/cut.jpg", "reason": "truncated JPEG (no end-of-image marker)"}
    ]
    assert manifest["data"]["cache"] == "memory"  # 36 images of 16x16x3 fit the budget
    assert sum(manifest["data"]["sizes"].values()) == 36
    card = cli_json("collect", str(skipped_run["config"]), cwd=skipped_run["work"])
    assert card["skipped_files"][0]["file"] == "green/cut.jpg"


def test_the_split_is_over_files_identical_across_experiments_and_disjoint(skipped_run, folder, tmp_path):
    other = write_config(
        tmp_path,
        "skip",
        {"source": str(folder), "image": {"size": [16, 16]}, "on_bad_file": "skip", "cache": "none"},
        TINY_MODEL,
    )
    card = cli_json("collect", str(other), cwd=tmp_path)
    first = np.load(skipped_run["work"] / "runs" / "skip" / "split.npz")
    second = np.load(tmp_path / "runs" / "skip" / "split.npz")
    parts = ("train", "validation", "test")
    for part in parts:
        assert np.array_equal(first[part], second[part])
    together = np.concatenate([second[p] for p in parts])
    assert len(np.unique(together)) == len(together) == 36
    assert card["cache"] == "none"


def test_a_file_that_fails_to_decode_mid_stream_is_named(tmp_path):
    from dlflow.data.image_files import ImageFiles, check_image_bytes
    from dlflow.errors import DataError

    pixels = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    corrupt = bytearray(buffer.getvalue())
    corrupt[corrupt.index(b"IDAT") + 10] ^= 0xFF  # header and IEND intact: passes the cheap check
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "bad.png").write_bytes(bytes(corrupt))
    assert not isinstance(check_image_bytes(bytes(corrupt)), str)
    files = ImageFiles(tmp_path, np.array(["a/bad.png"], dtype=object), np.zeros(1, np.uint64), (16, 16), "rgb")
    with pytest.raises(DataError, match="a/bad.png: cannot decode this image"):
        np.asarray(files)


def test_data_cache_on_a_table_is_an_error(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    config = write_config(
        tmp_path,
        "t",
        {"source": str(tmp_path / "t.csv"), "target": "y", "cache": "disk"},
        [{"Dense": {"units": 1, "activation": "sigmoid"}}],
    )
    assert_data_error(run_cli("collect", str(config), cwd=tmp_path), "data.cache applies to a folder of images")


def test_a_disk_cache_lives_in_the_experiment_folder_and_gives_the_same_pixels(tmp_path):
    from dataclasses import replace

    from dlflow.data.image_files import ImageFiles
    from dlflow.data.image_stream import image_tf_dataset

    folder = _jpeg_folder(tmp_path / "f", per_class=3)
    relpaths = np.array(sorted(str(p.relative_to(folder)) for p in folder.rglob("*.jpg")), dtype=object)
    files = ImageFiles(folder, relpaths, np.arange(len(relpaths), dtype=np.uint64), (16, 16), "rgb")
    decoded = np.asarray(files)
    on_disk = replace(files, cache="disk", cache_dir=tmp_path / "runs" / "x" / "cache")
    for _ in range(2):  # written on the first pass, read on the second
        batches = image_tf_dataset(on_disk, np.zeros(len(files), "int8"), batch_size=4, shuffle=False, seed=0)
        assert np.array_equal(np.concatenate([x.numpy() for x, _ in batches]), decoded)
    assert list((tmp_path / "runs" / "x" / "cache").glob("images-*.index"))
