"""Each kind of config problem gives one exact `file:line:col: path: message` line."""

from __future__ import annotations

import pytest

from dlflow.config import load_config
from dlflow.errors import ConfigError


def test_unknown_top_level_key(digits, problems_of):
    assert problems_of(digits + "sead: 1\n") == ["cfg.yaml:23:1: unknown top-level key 'sead' (did you mean 'seed'?)"]


def test_unknown_top_level_key_without_a_close_match_lists_the_sections(digits, problems_of):
    (line,) = problems_of(digits + "pipeline: {}\n")
    assert line == (
        "cfg.yaml:23:1: unknown top-level key 'pipeline' (expected one of: name, seed, task, "
        "data, model, compile, fit, runtime, export, tracking, search, monitor)"
    )


def test_unknown_nested_key_suggests_the_field(digits, problems_of):
    text = digits.replace("stratify: true", "stratifi: true")
    assert problems_of(text) == ["cfg.yaml:6:41: data.split: unknown key 'stratifi' (did you mean 'stratify'?)"]


def test_wrong_type_says_expected_and_received(digits, problems_of):
    text = digits.replace("epochs: 30", "epochs: ten")
    assert problems_of(text) == ["cfg.yaml:19:11: fit.epochs: expected an integer, received 'ten'"]


def test_bad_choice_suggests_the_closest(digits, problems_of):
    text = digits.replace("task: multiclass", "task: multiclas")
    assert problems_of(text) == [
        "cfg.yaml:3:7: task: expected one of 'binary', 'multiclass', 'multilabel' or "
        "'regression', received 'multiclas' (did you mean 'multiclass'?)"
    ]


def test_out_of_range_value(digits, problems_of):
    text = digits.replace("batch_size: 32", "batch_size: -1")
    assert problems_of(text) == ["cfg.yaml:20:15: fit.batch_size: expected a value greater than 0, received -1"]


def test_missing_required_key_points_at_its_parent(problems_of):
    text = "data:\n  source: x.csv\n  window: {horizon: 2}\nmodel: {factory: 'm:build'}\n"
    assert problems_of(text) == ["cfg.yaml:3:3: data.window: missing required key 'length'"]


def test_missing_required_section(problems_of):
    assert problems_of("model: {factory: 'm:build'}\n") == ["cfg.yaml:1:1: missing required top-level key 'data'"]


def test_yaml_syntax_error(digits, problems_of):
    text = digits.replace("metrics: [accuracy]", "metrics: [accuracy")
    assert problems_of(text) == [
        "cfg.yaml:18:4: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    ]


def test_duplicate_key(digits, problems_of):
    text = digits.replace("seed: 1337", "seed: 1337\nseed: 7")
    assert problems_of(text) == ["cfg.yaml:3:1: duplicate key 'seed'"]


def test_unknown_layer_suggests_the_class(digits, problems_of):
    text = digits.replace("Conv2D", "Conv2d")
    assert problems_of(text) == ["cfg.yaml:9:7: model.sequential[0]: unknown layer 'Conv2d' (did you mean 'Conv2D'?)"]


def test_unknown_layer_written_as_a_string(digits, problems_of):
    text = digits.replace("- Flatten", "- Flaten")
    assert problems_of(text) == ["cfg.yaml:11:7: model.sequential[2]: unknown layer 'Flaten' (did you mean 'Flatten'?)"]


def test_misspelled_layer_argument(digits, problems_of):
    text = digits.replace("units: 10", "unit: 10")
    assert problems_of(text) == [
        "cfg.yaml:13:15: model.sequential[4].Dense: unknown argument 'unit' (did you mean 'units'?)"
    ]


def test_missing_required_layer_argument(digits, problems_of):
    text = digits.replace("{rate: 0.5}", "{seed: 1}")
    assert problems_of(text) == ["cfg.yaml:12:7: model.sequential[3].Dropout: missing required argument 'rate'"]


def test_base_layer_arguments_are_accepted(digits, write):
    text = digits.replace("{rate: 0.5}", "{rate: 0.5, name: drop, trainable: false, dtype: float32}")
    load_config(write(text))


def test_nested_regularizer_argument_typo(digits, problems_of):
    text = digits.replace("{L2: {l2:", "{L2: {l22:")
    assert problems_of(text) == [
        "cfg.yaml:13:73: model.sequential[4].Dense.kernel_regularizer.L2: unknown argument 'l22' (did you mean 'l2'?)"
    ]


def test_nested_regularizer_class_typo(digits, problems_of):
    text = digits.replace("{L2: {l2: 1.0e-4}}", "{OrthogonalRegulariser: {factor: 0.01}}")
    assert problems_of(text) == [
        "cfg.yaml:13:68: model.sequential[4].Dense.kernel_regularizer: "
        "unknown regularizer 'OrthogonalRegulariser' (did you mean 'OrthogonalRegularizer'?)"
    ]


def test_unknown_identifier_strings(digits, problems_of):
    text = digits.replace("activation: softmax", "activation: sofmax").replace(
        "kernel_regularizer: {L2: {l2: 1.0e-4}}", "kernel_initializer: he_normall"
    )
    assert problems_of(text) == [
        "cfg.yaml:13:38: model.sequential[4].Dense.activation: unknown activation 'sofmax' (did you mean 'softmax'?)",
        "cfg.yaml:13:66: model.sequential[4].Dense.kernel_initializer: "
        "unknown initializer 'he_normall' (did you mean 'he_normal'?)",
    ]


def test_bad_optimizer_name(digits, problems_of):
    text = digits.replace("optimizer: {Adam: {learning_rate: 1.0e-3}}", "optimizer: adamm")
    assert problems_of(text) == ["cfg.yaml:15:14: compile.optimizer: unknown optimizer 'adamm' (did you mean 'adam'?)"]


def test_bad_optimizer_class(digits, problems_of):
    text = digits.replace("{Adam:", "{Adamm:")
    assert problems_of(text) == ["cfg.yaml:15:15: compile.optimizer: unknown optimizer 'Adamm' (did you mean 'Adam'?)"]


def test_bad_loss_metric_and_callback(digits, problems_of):
    text = (
        digits.replace("loss: sparse_categorical_crossentropy", "loss: sparse_categorical_crossentropie")
        .replace("metrics: [accuracy]", "metrics: [accuracy, acuracy, {AUC: {curv: PR}}]")
        .replace("EarlyStopping", "EarlyStoping")
    )
    assert problems_of(text) == [
        "cfg.yaml:16:9: compile.loss: unknown loss 'sparse_categorical_crossentropie' "
        "(did you mean 'sparse_categorical_crossentropy'?)",
        "cfg.yaml:17:23: compile.metrics[1]: unknown metric 'acuracy' (did you mean 'accuracy'?)",
        "cfg.yaml:17:39: compile.metrics[2].AUC: unknown argument 'curv' (did you mean 'curve'?)",
        "cfg.yaml:22:7: fit.callbacks[0]: unknown callback 'EarlyStoping' (did you mean 'EarlyStopping'?)",
    ]


def test_class_from_another_category_is_named(digits, problems_of):
    text = digits.replace("- Flatten", "- EarlyStopping")
    assert problems_of(text) == [
        "cfg.yaml:11:7: model.sequential[2]: unknown layer 'EarlyStopping' (it is a Keras callback, expected a layer)"
    ]


def test_two_classes_in_one_item(digits, problems_of):
    text = digits.replace("- Dropout: {rate: 0.5}", "- {Dropout: {rate: 0.5}, Flatten: {}}")
    assert problems_of(text) == [
        "cfg.yaml:12:7: model.sequential[3]: expected a one-key mapping {ClassName: {kwargs}}, "
        "received keys: Dropout, Flatten"
    ]


def test_functional_graph_with_a_dangling_input(functional, problems_of):
    text = functional.replace("inputs: body}", "inputs: bodyy}")
    assert problems_of(text) == [
        "cfg.yaml:11:74: model.functional.layers.body_emb.inputs: unknown input 'bodyy' "
        "(did you mean 'body'?); expected a name from model.functional.inputs or a node"
    ]


def test_functional_graph_outputs_cycles_and_class_keys(functional, problems_of):
    text = (
        functional.replace("outputs: [priority, department]", "outputs: [priority, dept]")
        .replace("inputs: [title_vec, body_vec, tags]", "inputs: [title_vec, body_vec, tags, priority]")
        .replace("{Dense: {units: 4}, inputs: joined}", "{Dense: {units: 4}, Dropout: {rate: 0.1}, inputs: joined}")
    )
    assert problems_of(text) == [
        "cfg.yaml:13:7: model.functional.layers.joined: the graph has a cycle: joined <- priority <- joined",
        "cfg.yaml:15:7: model.functional.layers.department: expected one layer class besides 'inputs' "
        "(or 'reuse: <node>'), e.g. {Dense: {units: 8}, inputs: x}; received Dense, Dropout",
        "cfg.yaml:16:25: model.functional.outputs: unknown node 'dept' (did you mean 'department'?)",
    ]


def test_per_output_names_must_be_model_outputs(functional, problems_of):
    text = functional.replace("department: sparse", "departement: sparse")
    assert problems_of(text) == [
        "cfg.yaml:19:25: compile.loss: unknown output 'departement' (did you mean 'department'?); "
        "the model's outputs are: priority, department"
    ]


def test_nested_objects_in_functional_layers_and_schedules(functional, problems_of):
    text = functional.replace("{LSTM: {units: 32}}", "{LSTM: {unit: 32}}").replace("decay_steps: 100, ", "")
    assert problems_of(text) == [
        "cfg.yaml:12:50: model.functional.layers.body_vec.Bidirectional.layer.LSTM: "
        "unknown argument 'unit' (did you mean 'units'?)",
        "cfg.yaml:18:38: compile.optimizer.Adam.learning_rate.ExponentialDecay: "
        "missing required argument 'decay_steps'",
    ]


def test_several_errors_are_reported_at_once_in_file_order(digits, problems_of):
    text = (
        digits.replace("units: 10", "unit: 10")
        .replace("epochs: 30", "epochs: ten")
        .replace("Conv2D", "Conv2d")
        .replace("task: multiclass", "task: multiclas")
        + "sead: 1\n"
    )
    lines = problems_of(text)
    assert [line.split(": ", 2)[:2] for line in lines] == [
        ["cfg.yaml:3:7", "task"],
        ["cfg.yaml:9:7", "model.sequential[0]"],
        ["cfg.yaml:13:15", "model.sequential[4].Dense"],
        ["cfg.yaml:19:11", "fit.epochs"],
        ["cfg.yaml:23:1", "unknown top-level key 'sead' (did you mean 'seed'?)"],
    ]


def test_error_message_lists_every_problem(digits, write):
    path = write(digits.replace("epochs: 30", "epochs: ten").replace("Conv2D", "Conv2d"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.lines() == info.value.problems
    assert len(info.value.problems) == 2


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.problems == [f"{tmp_path / 'nope.yaml'}: no such config file"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "cfg.yaml: the config is empty: expected a mapping of sections"),
        ("# nothing\n", "cfg.yaml: the config is empty: expected a mapping of sections"),
        ("- 1\n- 2\n", "cfg.yaml:1:1: expected a mapping of sections, received a list"),
    ],
)
def test_empty_or_non_mapping_files(text, expected, problems_of):
    assert problems_of(text) == [expected]


def test_name_defaults_to_the_file_stem_and_says_so_when_invalid(digits, problems_of):
    text = digits.replace("name: digits-convnet\n", "")
    assert problems_of(text, name="my config.yaml") == [
        "my config.yaml:1:1: name: expected a name of letters, digits, '_', '.' and '-', starting "
        "with a letter or digit, received 'my config' (the name comes from the file name; set "
        "`name:` to choose one)"
    ]


def test_logical_cpus_without_a_strategy_that_splits_the_cpu_is_an_error(digits, problems_of):
    (line,) = problems_of(digits + "runtime: {logical_cpus: 4}\n")
    assert line.startswith("cfg.yaml:23:") and "with strategy: auto it would do nothing" in line


def test_logical_cpus_with_a_mirrored_strategy_is_accepted(digits, write):
    load_config(write(digits + "runtime: {logical_cpus: 4, strategy: mirrored}\n"))
