"""model.backbone from a KerasHub image preset: `{keras_hub: <preset name or directory>}`.

There is no network here, so the preset that trains is a tiny ResNetBackbone (and its image
converter) saved with `save_to_preset` in the test; a named preset fails offline in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import cli_json, run_cli

CONFIG = """\
name: hub-backbone
seed: 1
data: {source: builtin:digits, split: {validation: 0.2, test: 0.2, stratify: true}}
model:
  backbone: {keras_hub: BACKBONE}
  sequential: [GlobalAveragePooling2D, {Dense: {units: 10, activation: softmax}}]
fit:
  batch_size: 64
  phases: [{epochs: 1, trainable: none}, {epochs: 1, trainable: {from_layer: stack1}, learning_rate: 1.0e-4}]
export: {formats: [keras]}
"""


def _config(folder: Path, backbone: str, name: str = "hub.yaml") -> Path:
    path = folder / name
    path.write_text(CONFIG.replace("BACKBONE", backbone))
    return path


def _save_tiny_preset(folder: Path) -> None:
    """A 24-layer ResNetBackbone for 1-channel images, with a converter scaling 0-255 to 0-1."""
    import keras_hub

    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        image_shape=(None, None, 1),
    )
    backbone.save_to_preset(str(folder))
    keras_hub.layers.ResNetImageConverter(scale=1 / 255.0).save_to_preset(str(folder))


@pytest.mark.slow  # a training, an evaluation and a refused build with KerasHub: 67 s on 2 cores (load 3)
def test_a_saved_preset_trains_in_two_phases_and_evaluates(tmp_path):
    _save_tiny_preset(tmp_path / "presets" / "tiny_resnet")
    done = run_cli("train", str(_config(tmp_path, "{preset: presets/tiny_resnet}")), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run = Path(json.loads(done.stdout)["run"])
    assert (
        "backbone: KerasHub preset tiny_resnet (ResNetBackbone, 24 layers, 87,808 parameters, its weights) on "
        "8x8x1 images, with its image converter (ResNetImageConverter) after scaling the data's pixels by "
        "15.9375 to 0-255"
    ) in done.stderr, done.stderr
    assert (
        "phase 2/2: epochs 2-2: the head and 10 of the backbone's 24 layers learn (from stack1_block0_1_pad; "
        "its 3 BatchNormalization layers stay frozen: pretrained)" in done.stderr
    ), done.stderr
    assert len((run / "history.csv").read_text().splitlines()) == 3  # header + one epoch per phase
    assert cli_json("evaluate", str(run), cwd=tmp_path)["samples"] == 359  # reloads: KerasHub's classes imported
    unknown = run_cli("train", _config(tmp_path, "resnet_18_imagenett", "typo.yaml").name, cwd=tmp_path)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert (
        "typo.yaml:5:25: model.backbone.keras_hub: unknown KerasHub preset 'resnet_18_imagenett' (did you mean "
        "'resnet_18_imagenet'?)" in unknown.stderr
    ), unknown.stderr


def test_a_named_preset_offline_fails_in_one_line_naming_its_url_and_the_directory_alternative(tmp_path):
    env = {
        "KAGGLEHUB_CACHE": str(tmp_path / "kaggle"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }  # nothing cached; any network refused at once
    done = run_cli(
        "--runs-dir",
        str(tmp_path / "runs"),
        "train",
        _config(tmp_path, "resnet_18_imagenet").name,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(
        "error: hub.yaml:5:25: model.backbone.keras_hub: KerasHub preset 'resnet_18_imagenet' "
        "cannot be downloaded from https://www.kaggle.com/models/keras/resnetv1/keras/"
        "resnet_18_imagenet/"
    ), errors[0]
    assert "save_to_preset(DIR) and give that directory (keras_hub: path/to/DIR)" in errors[0]
    assert not list((tmp_path / "runs").glob("hub-backbone/2*")), "no run directory for a refused config"


def test_keras_hub_backbone_arguments_are_checked_without_tensorflow(tmp_path):
    _config(tmp_path, "{preset: presets/tiny, load_weight: false}", "typo.yaml")
    _config(tmp_path, "{load_weights: 3}", "bad.yaml")
    errors = []
    for name in ("typo.yaml", "bad.yaml"):
        done = run_cli("validate", name, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        errors += [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: typo.yaml:5:48: model.backbone.keras_hub.load_weight: takes no argument 'load_weight' (did you mean "
        "'load_weights'?); it takes: preset, load_weights (dlflow sets the image shape and the name)",
        "error: bad.yaml:5:14: model.backbone.keras_hub: needs a preset: a KerasHub preset name or the directory of "
        "one ({preset: resnet_18_imagenet} or {preset: ./my_preset})",
        "error: bad.yaml:5:40: model.backbone.keras_hub.load_weights: expected true or false, received 3",
    ], errors
