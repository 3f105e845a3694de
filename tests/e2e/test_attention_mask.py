"""A MultiHeadAttention node's `attention_mask` of the wrong shape is a located error at build.

Keras's symbolic call of MultiHeadAttention does not read the mask, so a (batch, S, T) mask given
for a (batch, T, S) one used to pass the build and crash inside the first training step.
"""

from __future__ import annotations

import numpy as np

from tests.conftest import run_cli

CONFIG = """\
name: masked
seed: 3
data: {source: pair.npz, target: label, split: {validation: 0.2, test: 0.2, stratify: false}}
model:
  functional:
    inputs: [left, right]
    layers:
      query: {Dense: {units: 8}, inputs: left}
      value: {Dense: {units: 8}, inputs: right}
      mask: {Dense: {units: 6, activation: sigmoid}, inputs: right}
      attended: {MultiHeadAttention: {num_heads: 2, key_dim: 4}, inputs: {query: query, value: value,
                 attention_mask: mask}}
      pooled: {GlobalAveragePooling1D: {}, inputs: attended}
      label: {Dense: {units: 1, activation: sigmoid}, inputs: pooled}
    outputs: [label]
fit: {epochs: 1, batch_size: 16}
"""


def test_an_attention_mask_of_the_wrong_shape_names_the_node_and_the_shapes(tmp_path):
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(2, 40, 6, 4)).astype("float32")
    np.savez(tmp_path / "pair.npz", left=left, right=right[:, :5], label=(left.sum((1, 2)) > 0).astype("int64"))
    (tmp_path / "masked.yaml").write_text(CONFIG)
    done = run_cli("--runs-dir", str(tmp_path / "runs"), "train", "masked.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: masked.yaml:12:34: model.functional.layers.attended.inputs.attention_mask: MultiHeadAttention's "
        "attention_mask must broadcast to (batch, 6, 5) (the query's steps by the value's steps; a 1 broadcasts), "
        "received query (None, 6, 8), value (None, 5, 8), attention_mask (None, 5, 6)"
    ]
    assert not list((tmp_path / "runs").glob("masked/2*")), "no run directory for a refused config"


def test_masks_that_broadcast_pass_and_other_axes_are_followed():
    import keras

    from dlflow.model.attention_masks import check_attention_mask, expected_mask_shape

    query, value = keras.Input((6, 8)), keras.Input((5, 8))
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    for shape in [(6, 5), (1, 5), (6, 1)]:
        check_attention_mask(layer, [query], {"value": value, "attention_mask": keras.Input(shape)}, ("n",))
    assert expected_mask_shape((None, 3, 6, 8), (None, 3, 5, 8), (2,)) == (None, 3, 6, 5)
    assert expected_mask_shape((None, 3, 6, 8), (None, 4, 5, 8), None) == (None, 3, 6, 4, 5)
