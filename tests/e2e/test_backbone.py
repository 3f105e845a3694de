"""model.backbone (a keras.applications model under the head) and fit.phases (fine-tuning in phases).

A tiny MobileNetV2 (alpha 0.35, 32x32 inputs) on a 2-class folder of 48 images keeps them fast.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli

PHASES = "[{epochs: 1, trainable: none}, {epochs: 2, trainable: {top_layers: 12}, learning_rate: 1.0e-3}]"


def _images(folder: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 60), ("light", 190)):
        (folder / label).mkdir(parents=True)
        for i in range(24):
            pixels = np.clip(rng.normal(level, 40, (32, 32, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / label / f"{i}.png")
    return folder


def _config(folder: Path, weights: str, phases: str = PHASES) -> Path:
    path = folder / "backbone.yaml"
    path.write_text(f"""name: tiny-backbone
data:
  source: images
  image: {{size: [32, 32], color_mode: rgb}}
  split: {{validation: 0.25, test: 0.0, stratify: true}}
model:
  backbone: {{MobileNetV2: {{weights: {weights}, alpha: 0.35}}}}
  sequential: [GlobalAveragePooling2D, {{Dense: {{units: 2, activation: softmax}}}}]
fit:
  batch_size: 16
  backup_every: 1
  phases: {phases}
export: {{formats: [keras]}}
""")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("backbone")
    _images(work / "images")
    return work


def _history(run: Path) -> list[dict]:
    with open(run / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_backbone_from_a_weights_file_fine_tunes_its_top_layers_in_a_second_phase(tiny):
    import keras

    import dlflow.model.image_layers  # noqa: F401 - registers ApplicationPreprocess

    keras.utils.set_random_seed(7)
    saved = keras.applications.MobileNetV2(include_top=False, weights=None, alpha=0.35, input_shape=(32, 32, 3))
    saved.save_weights(tiny / "mnv2.weights.h5")
    result = cli_json("train", str(_config(tiny, "mnv2.weights.h5")), cwd=tiny)  # relative to the config
    run = Path(result["run"])
    assert [int(r["epoch"]) for r in _history(run)] == [0, 1, 2]  # both phases, one history
    assert len(list((run / "logs" / "train").glob("events.*"))) >= 1

    backbone = keras.saving.load_model(run / "model.keras").get_layer("backbone")
    top = {layer.name for layer in backbone.layers[-12:]}
    learned = frozen = 0
    for layer, original in zip(backbone.layers, saved.layers, strict=True):
        norm = isinstance(layer, keras.layers.BatchNormalization)
        same = all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), original.get_weights(), strict=True))
        if layer.name in top and not norm and layer.weights:
            assert layer.trainable and not same, layer.name  # phase 2 trained it
            learned += 1
        elif layer.weights:
            assert not layer.trainable and same, layer.name  # the file's weights, never trained
            frozen += 1
    assert learned >= 3 and frozen > 50


def _train(config: str, tiny: Path, *args: str) -> str:
    done = run_cli("train", config, *args, cwd=tiny)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


@pytest.mark.slow  # three trainings of a 154-layer backbone: minutes on 2 busy cores
def test_resume_at_the_start_of_phase_two_continues_its_epochs_with_a_new_optimizer(tiny):
    config = str(_config(tiny, "null"))
    first = _train(config, tiny, "--set", "fit.epochs=1")  # phase 1 only
    assert "ends in phase 1" in first
    run = next(line.split("run: ", 1)[1] for line in first.splitlines() if line.startswith("run: "))
    resumed = _train(config, tiny, "--set", "fit.epochs=3", "--resume", run)  # the phases' 3 epochs
    assert "phase 2/2: epochs 2-3" in resumed and "phase 1/2" not in resumed
    assert [int(r["epoch"]) for r in _history(Path(run))] == [0, 1, 2]
    manifest = json.loads((Path(run) / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["resumes"] == 1


@pytest.mark.slow
def test_resume_in_the_middle_of_phase_two_restores_its_optimizer(tiny):
    config = str(_config(tiny, "null"))
    first = _train(config, tiny, "--set", "fit.epochs=2")  # phase 1, and phase 2's first epoch
    run = next(line.split("run: ", 1)[1] for line in first.splitlines() if line.startswith("run: "))
    resumed = _train(config, tiny, "--set", "fit.epochs=3", "--resume", run)
    assert "phase 2/2: epochs 3-3" in resumed  # its optimizer (named adam_1 now, adam_2 then) restored
    assert [int(r["epoch"]) for r in _history(Path(run))] == [0, 1, 2]


def test_unknown_backbone_arguments_and_sizes_are_located_errors_without_tensorflow(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("""name: bad
data: {source: images, image: {size: [16, 16], color_mode: rgb}}
model:
  backbone: {MobileNetv2: {weights: null}}
  sequential: [GlobalAveragePooling2D, {Dense: {units: 2}}]
""")
    done = run_cli("validate", str(config), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (
        "bad.yaml:4:14: model.backbone: unknown keras.applications model 'MobileNetv2' (did you mean "
        "'MobileNetV2'?)" in done.stderr
    ), done.stderr
    config.write_text(config.read_text().replace("MobileNetv2: {weights: null}", "MobileNetV2: {include_top: true}"))
    done = run_cli("validate", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "model.backbone.MobileNetV2.include_top: include_top is always false" in done.stderr, done.stderr
    assert "data.image.size: MobileNetV2 needs images of at least 32x32, received 16x16" in done.stderr
    phases = tmp_path / "phases.yaml"
    phases.write_text(_config(tmp_path, "null").read_text().replace("batch_size: 16", "batch_size: 16\n  epochs: 5"))
    done = run_cli("validate", str(phases), cwd=tmp_path)
    assert done.returncode == 2
    assert "fit: epochs: 5 is more than fit.phases cover (3 in all)" in done.stderr, done.stderr


def test_imagenet_weights_offline_fail_in_one_line_naming_the_url_before_the_run(tiny, tmp_path):
    config = _config(tiny, "imagenet")
    env = {
        "KERAS_HOME": str(tmp_path / "keras"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }  # no cached weights; any network refused at once
    done = run_cli("train", str(config), "--set", "name=offline", cwd=tiny, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" in errors[0]
    assert "weights: path/to/file.h5" in errors[0] and "weights: null" in errors[0]
    assert not (tiny / "runs" / "offline").exists() or not any((tiny / "runs" / "offline").glob("2*"))
