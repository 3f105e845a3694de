"""`model.functional` nodes with named call arguments, shared layers, and your own registered classes.

One small graph trains once: two sequences go through ONE Dense layer (a siamese pair, `reuse`),
a MultiHeadAttention takes its query and value from the two towers (`inputs: {query:, value:}`),
and a layer class of the user's own module (named `my_layers.Scale` in the config) follows it.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tests.conftest import cli_json, run_cli

MODULE = '''
import keras


@keras.saving.register_keras_serializable(package="tests")
class Scale(keras.layers.Layer):
    """Multiplies its input by a learned scalar."""

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(), initializer="ones", name="factor")

    def call(self, inputs):
        return inputs * self.factor
'''

CONFIG = """\
name: graph
seed: 3
data: {source: pair.npz, target: label, split: {validation: 0.2, test: 0.2, stratify: false}}
model:
  functional:
    inputs: [left, right]
    layers:
      left_vec: {Dense: {units: 8, activation: relu}, inputs: left}
      right_vec: {reuse: left_vec, inputs: right}          # the same Dense: one kernel, one bias
      attended: {MultiHeadAttention: {num_heads: 2, key_dim: 4}, inputs: {query: left_vec, value: right_vec}}
      scaled: {my_layers.Scale: {}, inputs: attended}
      pooled: {GlobalAveragePooling1D: {}, inputs: scaled}
      label: {Dense: {units: 1, activation: sigmoid}, inputs: pooled}
    outputs: [label]
fit: {epochs: 1, batch_size: 16}
"""


@pytest.fixture(scope="module")
def graph_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("graph")
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(2, 80, 6, 4)).astype("float32")
    np.savez(work / "pair.npz", left=left, right=right[:, :5], label=(left.sum((1, 2)) > 0).astype("int64"))
    (work / "my_layers.py").write_text(textwrap.dedent(MODULE))
    (work / "graph.yaml").write_text(CONFIG)
    result = cli_json("train", str(work / "graph.yaml"), cwd=work)
    return work, result["run"]


def _load(run):
    import sys

    import keras

    sys.path.insert(0, str(run).rsplit("/runs/", 1)[0])
    import my_layers  # noqa: F401 - registers Scale

    return keras.saving.load_model(f"{run}/model.keras")


def test_a_reused_node_shares_one_set_of_weights(graph_run):
    work, run = graph_run
    model = _load(run)
    dense = model.get_layer("left_vec")
    assert len(dense._inbound_nodes) == 2  # called on left and on right
    assert [w.path for w in model.weights].count("left_vec/kernel") == 1
    assert not any(layer.name == "right_vec" for layer in model.layers)


def test_attention_takes_query_and_value_from_two_nodes(graph_run):
    work, run = graph_run
    model = _load(run)
    node = model.get_layer("attended")._inbound_nodes[0]
    called_with = {
        name: (t._keras_history.operation.name, t._keras_history.node_index)
        for name, t in zip(("query", "value"), node.arguments.keras_tensors, strict=True)
    }
    assert called_with["query"][0] == called_with["value"][0] == "left_vec"  # the two calls of the shared layer
    assert called_with["query"][1] != called_with["value"][1]
    assert tuple(model.get_layer("attended").output.shape) == (None, 6, 8)


@pytest.mark.slow  # a second look at --trust-code (factories: tests/e2e/test_trust_code.py); make test-all
def test_own_class_reloads_only_with_trust_code(graph_run):
    work, run = graph_run
    refused = run_cli("evaluate", run, cwd=work)
    assert refused.returncode == 2 and "--trust-code" in refused.stderr
    assert cli_json("evaluate", run, "--trust-code", cwd=work)["samples"] == 16


def test_graph_errors_are_located(tmp_path):
    (tmp_path / "my_layers.py").write_text(textwrap.dedent(MODULE).replace("@keras.saving", "# @keras.saving"))
    text = CONFIG.replace("{query: left_vec, value: right_vec}", "{qeury: left_vec, value: right_vec}").replace(
        "reuse: left_vec", "reuse: left_vc"
    )
    (tmp_path / "graph.yaml").write_text(text)
    done = run_cli("validate", "graph.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: graph.yaml:9:26: model.functional.layers.right_vec.reuse: expected the name of a node whose layer "
        "to call again, received 'left_vc' (did you mean 'left_vec'?)",
        "error: graph.yaml:10:75: model.functional.layers.attended.inputs: MultiHeadAttention does not take 'qeury' "
        "(did you mean 'query'?); its call takes: query, value, key, query_mask, value_mask, key_mask, "
        "attention_mask, return_attention_scores, training, use_causal_mask",
        "error: graph.yaml:11:16: model.functional.layers.scaled: my_layers.Scale is not registered with Keras, so a "
        "saved model.keras could not reload it: decorate it with @keras.saving.register_keras_serializable()",
    ]
