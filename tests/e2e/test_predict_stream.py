"""`dlflow predict` streams an image folder: 2,000 images decoded batch by batch, the CSV written as it goes,
and the predictions equal those of the exported SavedModel on the same images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import cli_json


def _pngs(root: Path, per_class: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    for c, label in enumerate(("dark", "light")):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(80 + 100 * c, 40, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels, mode="L").save(root / label / f"{i:04d}.png")
    return root


@pytest.mark.slow  # trains, exports and predicts 2,000 images (about a minute on 2 busy cores)
def test_predict_on_a_2000_image_folder_equals_the_exported_saved_model(tmp_path):
    import tensorflow as tf

    _pngs(tmp_path / "train", 40, seed=0)
    config = {
        "name": "pics",
        "seed": 1,
        "data": {"source": str(tmp_path / "train")},
        "model": {"sequential": ["Flatten", {"Dense": {"units": 2, "activation": "softmax"}}]},
        "fit": {"epochs": 2, "batch_size": 16, "verbose": 0},
        "export": {"formats": ["saved_model"]},
    }
    (tmp_path / "pics.yaml").write_text(yaml.safe_dump(config))
    run = Path(cli_json("train", str(tmp_path / "pics.yaml"), cwd=tmp_path)["run"])
    cli_json("export", str(run), cwd=tmp_path)
    folder = _pngs(tmp_path / "new", 1000, seed=1)
    result = cli_json("predict", str(run), str(folder), "-o", str(tmp_path / "out.csv"), cwd=tmp_path)
    assert result["rows"] == 2000 and not list(tmp_path.glob(".out.csv.*"))  # the temp file was renamed
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    files = sorted(folder.rglob("*.png"))
    assert [r["id"] for r in rows] == [str(f.relative_to(folder)) for f in files]
    images = np.stack([np.asarray(Image.open(f), dtype="float32")[..., None] for f in files])
    served = tf.saved_model.load(str(run / "export" / "saved_model")).signatures["serving_default"]
    probabilities = np.concatenate(
        [next(iter(served(tf.constant(images[i : i + 500])).values())).numpy() for i in range(0, len(images), 500)]
    )
    classes = ["dark", "light"]
    assert [r["prediction"] for r in rows] == [classes[k] for k in probabilities.argmax(axis=1)]
    assert np.allclose([float(r["prediction_confidence"]) for r in rows], probabilities.max(axis=1), atol=1e-5)
