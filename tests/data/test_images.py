"""Image folders (image_dir): loading, training through the CLI, decoded predictions, bad data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import CONFIGS, cli_json, run_cli
from tests.data.kinds_helpers import DATASETS, assert_data_error, write_config

DIGITS = DATASETS / "digits_images"
TINY_MODEL = ["Flatten", {"Dense": {"units": 2, "activation": "softmax"}}]


def _image_folder(
    root: Path, sizes: dict[str, tuple[int, int]] | None = None, *, mode: str = "L", per_class: int = 6
) -> Path:
    """Two classes of tiny images: 'dark' and 'light', `per_class` each."""
    rng = np.random.default_rng(0)
    for label, base in (("dark", 40), ("light", 200)):
        (root / label).mkdir(parents=True, exist_ok=True)
        height, width = (sizes or {}).get(label, (8, 8))
        for i in range(per_class):
            shape = (height, width) if mode == "L" else (height, width, 3)
            pixels = np.clip(base + rng.normal(0, 10, shape), 0, 255).astype("uint8")
            Image.fromarray(pixels, mode=mode).save(root / label / f"{i}.png")
    return root


def _load(folder: Path, **data):
    from dlflow.config import loads_config
    from dlflow.data.sources import load_dataset

    config = {"name": "t", "data": {"source": str(folder), **data}, "model": {"sequential": TINY_MODEL}}
    import yaml

    loaded = loads_config(yaml.safe_dump(config), "t.yaml")
    return load_dataset(loaded.config.data, loaded.config.task)


# -- loading ------------------------------------------------------------------------------------


def test_digits_folder_loads_as_raw_pixels_with_folder_names_as_classes():
    dataset = _load(DIGITS)
    assert dataset.kind == "image" and len(dataset) == 1797
    assert dataset.inputs["image"].shape == (1797, 8, 8, 1)  # image files, decoded when read
    images = np.asarray(dataset.inputs["image"])
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.float32
    assert images.min() == 0 and images.max() == 255
    spec = dataset.input_specs["image"]
    assert spec.role == "image" and spec.scale == pytest.approx(1 / 255)
    target = dataset.target_specs["label"]
    assert target.task == "multiclass" and target.classes == tuple(str(d) for d in range(10))
    assert dataset.info["color_mode"] == "grayscale" and dataset.info["image_size"] == [8, 8]


def test_pixels_match_the_source_digits():
    from sklearn.datasets import load_digits

    dataset = _load(DIGITS)
    digits = load_digits()
    files = sorted((DIGITS / "3").glob("*.png"))
    index = int(files[0].stem)
    row = next(
        i for i, label in enumerate(dataset.targets["label"]) if dataset.target_specs["label"].classes[label] == "3"
    )
    expected = np.round(digits.images[index] * 255 / 16)
    assert np.array_equal(np.asarray(dataset.inputs["image"][row])[0, :, :, 0], expected)


def test_color_mode_is_inferred_and_can_be_forced(tmp_path):
    gray = _load(_image_folder(tmp_path / "gray"))
    assert gray.inputs["image"].shape[1:] == (8, 8, 1)
    color = _load(_image_folder(tmp_path / "color", mode="RGB"))
    assert color.inputs["image"].shape[1:] == (8, 8, 3) and color.info["color_mode"] == "rgb"
    forced = _load(tmp_path / "gray", image={"color_mode": "rgb"})
    assert forced.inputs["image"].shape[1:] == (8, 8, 3)
    pixels = np.asarray(forced.inputs["image"])
    assert np.array_equal(pixels[..., 0], pixels[..., 2])


def test_images_of_different_sizes_need_data_image_size(tmp_path):
    from dlflow.errors import DataError

    folder = _image_folder(tmp_path / "mixed", sizes={"dark": (8, 8), "light": (12, 10)})
    with pytest.raises(DataError) as caught:
        _load(folder)
    assert "8x8" in caught.value.message and "12x10" in caught.value.message
    assert caught.value.config_path == ("data", "image", "size")
    resized = _load(folder, image={"size": [6, 5]})
    assert resized.inputs["image"].shape == (12, 6, 5, 1)


def test_a_folder_of_class_folders_is_detected_as_image_dir(tmp_path):
    from dlflow.data.sources import detect_format

    assert detect_format(str(_image_folder(tmp_path / "x"))) == "image_dir"
    assert _load(tmp_path / "x", format="image_dir").kind == "image"


# -- training through the CLI ------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """configs/digits_images.yaml as shipped, cut to a few epochs."""
    work = tmp_path_factory.mktemp("images")
    result = cli_json(
        "train", str(CONFIGS / "digits_images.yaml"), "--set", "fit.epochs=4", "--set", "fit.verbose=0", cwd=work
    )
    return {"work": work, "run": Path(result["run"]), "metrics": result}


def test_short_run_trains_and_evaluates(short_run):
    manifest = json.loads((short_run["run"] / "manifest.json").read_text())
    assert manifest["data"]["kind"] == "image"
    assert manifest["data"]["sizes"] == {"train": 1257, "validation": 270, "test": 270}
    result = cli_json("evaluate", "digits-images", cwd=short_run["work"])
    assert result["metrics"]["accuracy"] > 0.5  # 4 epochs; the full config reaches 97% (slow test)
    assert result["targets"]["label"]["classes"] == [str(d) for d in range(10)]


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_predictions_decode_to_folder_names(short_run):
    done = run_cli("predict", "digits-images", str(DIGITS / "7"), "-o", "-", cwd=short_run["work"])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == len(list((DIGITS / "7").glob("*.png")))
    assert np.mean([r["prediction"] == "7" for r in rows]) > 0.5


@pytest.mark.slow
def test_full_config_reaches_97_percent_on_the_test_split(tmp_path):
    cli_json("train", str(CONFIGS / "digits_images.yaml"), "--set", "fit.verbose=0", cwd=tmp_path)
    result = cli_json("evaluate", "digits-images", cwd=tmp_path)
    assert result["samples"] == 270
    assert result["metrics"]["accuracy"] >= 0.97, result["metrics"]


# -- bad data ----------------------------------------------------------------------------------


def test_unreadable_image_is_a_data_error_naming_the_file(tmp_path):
    folder = _image_folder(tmp_path / "imgs")
    broken = folder / "light" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is not a picture")
    config = write_config(tmp_path, "broken", {"source": str(folder)}, TINY_MODEL)
    assert_data_error(run_cli("train", str(config), cwd=tmp_path), str(broken), "unreadable image", "data.source")
    assert not list(tmp_path.glob("runs/broken/2*"))  # no run directory


def test_empty_class_folder_is_a_data_error(tmp_path):
    folder = _image_folder(tmp_path / "imgs")
    (folder / "empty").mkdir()
    config = write_config(tmp_path, "empty", {"source": str(folder)}, TINY_MODEL)
    assert_data_error(run_cli("collect", str(config), cwd=tmp_path), str(folder / "empty"), "holds no images")


def test_single_class_and_loose_images_are_data_errors(tmp_path):
    from dlflow.errors import DataError

    folder = _image_folder(tmp_path / "imgs")
    for path in (folder / "light").iterdir():
        path.unlink()
    (folder / "light").rmdir()
    with pytest.raises(DataError, match="one class folder \\('dark'\\); classification needs at least 2"):
        _load(folder)
    loose = _image_folder(tmp_path / "loose")
    Image.new("L", (8, 8)).save(loose / "stray.png")
    with pytest.raises(DataError, match="stray.png: images must sit in a sub-folder"):
        _load(loose)
