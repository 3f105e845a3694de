"""`dlflow validate` refuses what `train` would refuse, when it can be told without TensorFlow or the data.

Functional inputs are checked against the data's input names (a CSV header, an .npz's arrays),
a layer called on several named tensors must name them (`inputs: {query: a, value: b}`), and an argument
Keras says is an int, a float or a bool refuses a string (from the file or from `--set`).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, ROOT, run_cli

NPZ = ROOT / "datasets" / "digits_multi_io.npz"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _refused(done, pattern: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    first = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert re.search(pattern, first), first
    return first


GRAPH = """\
    name: graph
    data: {{source: {source}, target: {target}}}
    model:
      functional:
        inputs: [x]
        layers:
          flat: {{Flatten: {{}}, inputs: x}}
          out: {{Dense: {{units: 10, activation: softmax}}, inputs: flat}}
        outputs: [out]
    """


def test_a_functional_input_the_npz_does_not_hold_is_refused_at_its_line(tmp_path):
    config = _write(tmp_path, GRAPH.format(source=NPZ, target="digit"))
    done = run_cli("validate", str(config), cwd=tmp_path)
    _refused(
        done,
        rf"^error: {re.escape(str(config))}:5:\d+: model\.functional\.inputs\[0\]: unknown input 'x'; "
        r"the data's inputs are: image, profile, even$",
    )


def test_a_functional_input_the_csv_header_lacks_is_refused_with_a_suggestion(tmp_path):
    (tmp_path / "t.csv").write_text("age,income,label\n1,2,a\n3,4,b\n")
    config = _write(
        tmp_path,
        GRAPH.format(source="t.csv", target="label")
        .replace("[x]", "[age, incme]")
        .replace("inputs: x}", "inputs: [age, incme]}")
        .replace("Flatten", "Concatenate"),
    )
    done = run_cli("validate", str(config), cwd=tmp_path)
    _refused(done, r":5:\d+: model\.functional\.inputs\[1\]: unknown input 'incme' \(did you mean 'income'\?\)")


def test_a_multi_tensor_layer_needs_named_inputs_at_its_node(tmp_path):
    config = _write(
        tmp_path,
        f"""\
        name: attention
        data: {{source: {NPZ}, target: digit}}
        model:
          functional:
            inputs: [profile]
            layers:
              seq: {{Reshape: {{target_shape: [4, 4]}}, inputs: profile}}
              named: {{MultiHeadAttention: {{num_heads: 2, key_dim: 4}}, inputs: {{query: seq, value: seq}}}}
              listed: {{MultiHeadAttention: {{num_heads: 2, key_dim: 4}}, inputs: [seq, seq]}}
              flat: {{Flatten: {{}}, inputs: listed}}
              out: {{Dense: {{units: 10, activation: softmax}}, inputs: flat}}
            outputs: [out]
        """,
    )
    done = run_cli("validate", str(config), cwd=tmp_path)
    _refused(
        done,
        r":9:\d+: model\.functional\.layers\.listed: MultiHeadAttention is called with several "
        r"named tensors \(query, value\): name them, inputs: \{query: <node>, value: <node>\}$",
    )
    assert len([line for line in done.stderr.splitlines() if line.startswith("error:")]) == 1  # `named` is fine


def test_a_string_for_an_int_argument_is_refused_in_the_file_and_in_a_set(tmp_path):
    text = (CONFIGS / "digits_mlp.yaml").read_text()
    config = _write(tmp_path, text.replace("{units: 128, activation: relu}", "{units: abc, activation: relu}"))
    _refused(
        run_cli("validate", str(config), cwd=tmp_path),
        r"exp\.yaml:\d+:\d+: model\.sequential\[\d\]\.Dense\.units: expected int, received 'abc'$",
    )
    done = run_cli(
        "validate", str(CONFIGS / "digits_mlp.yaml"), "--set", "model.sequential[1].Dense.units=abc", cwd=tmp_path
    )
    _refused(done, r"^error: --set model\.sequential\[1\]\.Dense\.units: .*expected int, received 'abc'$")


@pytest.mark.parametrize(
    "layer, problem",
    [
        ("{Dense: {units: 64.0}}", "units: expected int, received 64.0"),
        ("{Dropout: {rate: '0.5'}}", "rate: expected float, received '0.5'"),
        ("{Dense: {units: 8, use_bias: 'no'}}", "use_bias: expected bool, received 'no'"),
        ("{Conv1D: {filters: 8, kernel_size: 3, strides: two}}", "strides: expected int, received 'two'"),
    ],
)
def test_wrong_argument_types_are_refused(tmp_path, layer, problem):
    from dlflow.config import loads_config
    from dlflow.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(problem)):
        loads_config(f"name: t\ndata: {{source: builtin:digits}}\nmodel:\n  sequential:\n    - {layer}\n", "t.yaml")


def test_valid_argument_forms_are_not_refused():
    from dlflow.config import loads_config

    loads_config(
        textwrap.dedent("""\
        name: t
        data: {source: builtin:digits}
        model:
          sequential:
            - Conv2D: {filters: 8, kernel_size: [3, 3], strides: [1, 1], padding: same, activation: relu}
            - Conv2D: {filters: 8, kernel_size: 3, dilation_rate: 1, use_bias: true}
            - BatchNormalization: {axis: -1, momentum: 0.9}
            - Flatten
            - Dropout: {rate: 0}
            - Dense: {units: 10, activation: {LeakyReLU: {negative_slope: 0.1}}, kernel_regularizer: {L2: {l2: 1}}}
        compile:
          optimizer: {Adam: {learning_rate: {ExponentialDecay: {initial_learning_rate: 1e-3, decay_steps: 100, decay_rate: 0.9}}}}
        fit:
          callbacks:
            - EarlyStopping: {min_delta: 0.001, patience: 3, verbose: true}
            - ModelCheckpoint: {filepath: best.keras, save_freq: epoch}
            - TensorBoard: {profile_batch: "2,4"}
        """),
        "t.yaml",
    )


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_shipped_config_validates(config):
    from dlflow.workflow.validate import validate_config

    assert validate_config(CONFIGS / config)["valid"]


def test_a_fill_value_without_its_constant_strategy_is_refused():
    from dlflow.config import loads_config
    from dlflow.errors import ConfigError

    text = "name: t\ndata:\n  source: t.csv\n  missing: {{{}}}\nmodel: {{sequential: [{{Dense: {{units: 1}}}}]}}\n"
    with pytest.raises(ConfigError, match=r"t\.yaml:4:3: data\.missing: numeric_constant .* would do nothing"):
        loads_config(text.format("numeric: median, numeric_constant: -1"), "t.yaml")
    loads_config(text.format("numeric: constant, numeric_constant: -1, categorical: constant"), "t.yaml")
