"""Classes named by dotted path (KerasHub's, the user's own) are checked by `validate`, without importing them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dlflow.config.external_classes import HUB_CATALOGUE_PATH
from tests.conftest import CONFIGS, run_cli

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from dlflow.config import load_config
for path in sys.argv[1:]:
    load_config(path)
print(sorted(m for m in ("tensorflow", "keras", "keras_hub", "my_layers") if m in sys.modules))
"""

MODULE = """
import keras
from keras import layers


@keras.saving.register_keras_serializable(package="mine")
class ResidualBlock(layers.Layer):
    def __init__(self, units, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.dropout = units, dropout


class Unregistered(layers.Layer):
    pass
"""


def _errors(done) -> list[str]:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def _config(tmp_path: Path, layers: str) -> Path:
    (tmp_path / "my_layers.py").write_text(textwrap.dedent(MODULE))
    text = (CONFIGS / "bbc_transformer.yaml").read_text()
    start = text.index("    layers:\n")
    end = text.index("    outputs:")
    path = tmp_path / "exp.yaml"
    path.write_text(text[:start] + "    layers:\n" + textwrap.indent(textwrap.dedent(layers), " " * 6) + text[end:])
    return path


def test_a_misspelled_keras_hub_class_gets_did_you_mean_at_its_line(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text(
        (CONFIGS / "bbc_transformer.yaml")
        .read_text()
        .replace("keras_hub.layers.TransformerEncoder:", "keras_hub.layers.TransformerEncodr:")
        .replace("source: ../datasets", f"source: {CONFIGS.parent}/datasets")
    )
    errors = _errors(run_cli("validate", str(config), cwd=tmp_path))
    line = 1 + config.read_text().splitlines().index(
        next(t for t in config.read_text().splitlines() if "TransformerEncodr" in t)
    )
    assert len(errors) == 1
    assert errors[0].startswith(
        f"error: {config}:{line}:17: model.functional.layers.encoded: unknown layer "
        "'keras_hub.layers.TransformerEncodr' (did you mean "
        "'keras_hub.layers.TransformerEncoder'?)"
    ), errors[0]


def test_keras_hub_arguments_and_named_inputs_are_checked(tmp_path):
    config = _config(
        tmp_path,
        """\
        embedded: {keras_hub.layers.TokenAndPositionEmbedding: {vocabulary_size: 100, sequence_lenght: 8,
                   embedding_dim: 4}, inputs: text}
        encoded: {keras_hub.layers.TransformerEncoder: {intermediate_dim: 8, num_heads: 2},
                  inputs: {inputs: embedded, paddingmask: embedded}}
        topic: {Dense: {units: 5, activation: softmax}, inputs: encoded}
        """,
    )
    errors = _errors(run_cli("validate", str(config), cwd=tmp_path))
    assert any(
        "embedded[\"keras_hub.layers.TokenAndPositionEmbedding\"]: unknown argument 'sequence_lenght' "
        "(did you mean 'sequence_length'?)" in e
        for e in errors
    ), errors
    assert any("TransformerEncoder does not take 'paddingmask' (did you mean 'padding_mask'?)" in e for e in errors), (
        errors
    )


def test_own_classes_are_read_from_their_module_source(tmp_path):
    config = _config(
        tmp_path,
        """\
        embedded: {Embedding: {input_dim: 100, output_dim: 4}, inputs: text}
        block: {my_layers.ResidualBlok: {units: 4}, inputs: embedded}
        block2: {my_layers.ResidualBlock: {dropout: 0.1}, inputs: block}
        plain: {my_layers.Unregistered: {}, inputs: block2}
        gone: {not_a_module.Layer: {}, inputs: plain}
        topic: {Dense: {units: 5, activation: softmax}, inputs: gone}
        """,
    )
    errors = _errors(run_cli("validate", str(config), cwd=tmp_path))
    assert [e.split(": ", 2)[2] for e in errors] == [
        "model.functional.layers.block: unknown layer 'my_layers.ResidualBlok': module 'my_layers' defines no class "
        "'ResidualBlok' (did you mean 'ResidualBlock'?)",
        "model.functional.layers.block2[\"my_layers.ResidualBlock\"]: missing required argument 'units'",
        "model.functional.layers.plain: my_layers.Unregistered is not registered with Keras, so a saved model.keras "
        "could not reload it: decorate it with @keras.saving.register_keras_serializable()",
        "model.functional.layers.gone: cannot find module 'not_a_module' in the config's folder or the installed "
        "packages",
    ]


def test_validation_imports_neither_keras_hub_nor_the_users_module(tmp_path):
    config = _config(
        tmp_path,
        """\
        embedded: {keras_hub.layers.TokenAndPositionEmbedding: {vocabulary_size: 100, sequence_length: 128,
                   embedding_dim: 4}, inputs: text}
        block: {my_layers.ResidualBlock: {units: 4}, inputs: embedded}
        topic: {Dense: {units: 5, activation: softmax}, inputs: block}
        """,
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow  # imports KerasHub; make test-all
def test_committed_hub_catalogue_matches_the_generator():
    """Regenerate with `python -m dlflow.config.make_hub_catalogue` when this fails."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-m", "dlflow.config.make_hub_catalogue", "--stdout"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == HUB_CATALOGUE_PATH.read_text(encoding="utf-8")
