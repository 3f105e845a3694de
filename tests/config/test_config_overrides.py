"""`--set PATH=VALUE` overrides: types, created keys, class replacement, errors."""

from __future__ import annotations

import pytest

from dlflow.config import load_config
from dlflow.config.overrides import apply_overrides
from dlflow.config.yaml_loader import Positions
from dlflow.errors import ConfigError


def test_values_are_read_as_yaml(digits, write):
    config = load_config(
        write(digits),
        [
            "fit.epochs=5",
            "seed=7",
            "data.split.stratify=false",
            "compile.metrics=[accuracy, auc]",
            "data.split={validation: 0.1, test: 0.2}",
            "runtime.jit_compile=true",
            "task=binary",
        ],
    ).config
    assert config.fit.epochs == 5 and config.seed == 7
    assert config.compile.metrics == ["accuracy", "auc"]
    assert (config.data.split.validation, config.data.split.test) == (0.1, 0.2)
    assert config.data.split.stratify is True  # the later whole-mapping override wins
    assert config.runtime.jit_compile is True
    assert config.task == "binary"


def test_scientific_notation_values_are_floats(digits, write):
    config = load_config(write(digits), ["compile.optimizer.Adam.learning_rate=3e-4"]).config
    assert config.compile.optimizer == {"Adam": {"learning_rate": 3e-4}}


def test_missing_mappings_are_created(digits, write):
    loaded = load_config(write(digits), ["runtime.device=cpu", "export.tflite.quantize=int8"])
    assert loaded.config.runtime.device == "cpu"
    assert loaded.config.export.tflite.quantize == "int8"
    assert loaded.raw["runtime"] == {"device": "cpu"}


def test_identifier_string_becomes_a_class_mapping(digits, write):
    text = digits.replace("optimizer: {Adam: {learning_rate: 1.0e-3}}", "optimizer: adam")
    config = load_config(write(text), ["compile.optimizer.Adam.learning_rate=3e-4"]).config
    assert config.compile.optimizer == {"Adam": {"learning_rate": 3e-4}}


def test_another_class_replaces_the_class(digits, write):
    config = load_config(write(digits), ["compile.optimizer.SGD.momentum=0.9"]).config
    assert config.compile.optimizer == {"SGD": {"momentum": 0.9}}


def test_a_bare_layer_takes_arguments(digits, write):
    config = load_config(write(digits), ["model.sequential[1].MaxPooling2D.pool_size=[2, 2]"]).config
    assert config.model.sequential[1] == {"MaxPooling2D": {"pool_size": [2, 2]}}


def test_negative_index_and_quoted_keys(digits, write):
    config = load_config(
        write(digits),
        ["model.sequential[-1].Dense.units=64", 'search.space["model.sequential[4].Dense.units"]={int: [32, 256]}'],
    ).config
    assert config.model.sequential[4]["Dense"]["units"] == 64
    assert config.search.space["model.sequential[4].Dense.units"].int == (32, 256)


def test_problem_in_an_overridden_value_points_at_the_override(digits, problems_of):
    assert problems_of(digits, ["fit.epochs=ten"]) == [
        "--set fit.epochs: fit.epochs: expected an integer, received 'ten'"
    ]


def test_keras_problem_in_an_override(digits, problems_of):
    assert problems_of(digits, ["model.sequential[4].Dense.unit=3"]) == [
        "--set model.sequential[4].Dense.unit: model.sequential[4].Dense: "
        "unknown argument 'unit' (did you mean 'units'?)"
    ]


def test_override_problems_come_after_file_problems_in_order(digits, problems_of):
    text = digits.replace("epochs: 30", "epochs: ten")
    assert problems_of(text, ["seed=x", "fit.batch_size=0"]) == [
        "cfg.yaml:19:11: fit.epochs: expected an integer, received 'ten'",
        "--set seed: seed: expected an integer, received 'x'",
        "--set fit.batch_size: fit.batch_size: expected a value greater than 0, received 0",
    ]


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            "model.sequential[9].Dense.units=3",
            "--set model.sequential[9].Dense.units: index 9 is out of range: model.sequential has 5 items",
        ),
        (
            "fit.epochs.x=3",
            "--set fit.epochs.x: cannot set 'x' inside fit.epochs: expected a mapping or a list there, received 30",
        ),
        (
            "model.sequential.Dense=3",
            "--set model.sequential.Dense: model.sequential is a list: expected an index such as [0], received 'Dense'",
        ),
        ("fit.epochs", "--set fit.epochs: expected PATH=VALUE (e.g. fit.epochs=5), received 'fit.epochs'"),
        (
            "fit..epochs=3",
            "--set fit..epochs: expected a path such as model.sequential[0].Dense.units, received 'fit..epochs'",
        ),
        (
            "fit.epochs=[1, 2",
            "--set fit.epochs: expected a YAML value, received '[1, 2' (expected ',' or ']', but got '<stream end>')",
        ),
    ],
)
def test_bad_overrides(override, expected, digits, problems_of):
    assert problems_of(digits, [override]) == [expected]


def test_all_bad_overrides_are_reported_together(digits, problems_of):
    lines = problems_of(digits, ["fit.epochs", "model.sequential[9].Dense.units=3"])
    assert [line.split(":")[0] for line in lines] == ["--set fit.epochs", "--set model.sequential[9].Dense.units"]


def test_overrides_do_not_change_the_input():
    raw = {"fit": {"epochs": 3}}
    positions = Positions("cfg.yaml", keys={("fit",): (1, 1), ("fit", "epochs"): (2, 3)})
    out = apply_overrides(raw, ["fit.epochs=4"], positions)
    assert raw == {"fit": {"epochs": 3}} and out == {"fit": {"epochs": 4}}
    assert positions.describe(("fit", "epochs")) == "--set fit.epochs"
    assert positions.describe(("fit",)) == "cfg.yaml:1:1"


def test_replaced_values_forget_their_file_positions():
    raw = {"model": {"sequential": [{"Dense": {"units": 3}}]}}
    positions = Positions(
        "cfg.yaml",
        keys={("model",): (1, 1), ("model", "sequential"): (2, 3), ("model", "sequential", 0): (3, 7)},
    )
    apply_overrides(raw, ["model.sequential=[Flatten]"], positions)
    assert positions.describe(("model", "sequential", 0)) == "--set model.sequential"


def test_bad_override_raises_config_error(digits, write):
    with pytest.raises(ConfigError) as info:
        load_config(write(digits), ["=3"])
    assert info.value.exit_code == 2
