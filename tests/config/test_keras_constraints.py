"""What Keras accepts at construction but fails on in `fit` (found by the train fuzzer): refused by `validate`."""

from __future__ import annotations

import pytest

from dlflow.config.keras_check import check_config

SEQUENTIAL = [{"Dense": {"units": 8}}, {"Dense": {"units": 2}}]


def messages(**sections) -> list[str]:
    raw = {"model": {"sequential": SEQUENTIAL}, **sections}
    return [f"{'.'.join(map(str, p.path))}: {p.message}" for p in check_config(raw)]


@pytest.mark.parametrize(
    "callback, expected",
    [
        ({"EarlyStopping": {"patience": [1, 2]}}, "EarlyStopping.patience: expected one int, received [1, 2]"),
        ({"EarlyStopping": {"monitor": -3}}, "EarlyStopping.monitor: expected the name of a logged metric"),
        ({"ReduceLROnPlateau": {"monitor": None}}, "ReduceLROnPlateau.monitor: expected the name of a logged metric"),
        ({"EarlyStopping": {"mode": "x"}}, "EarlyStopping.mode: expected one of auto, min, max"),
        ({"EarlyStopping": {"patience": -1}}, "EarlyStopping.patience: expected at least 0"),
        ({"ReduceLROnPlateau": {"factor": 2}}, "ReduceLROnPlateau.factor: expected a value in (0, 1)"),
        ({"EarlyStopping": {"min_delta": None}}, "EarlyStopping.min_delta: expected one int, received None"),
    ],
)
def test_callback_arguments_that_fail_in_fit(callback, expected):
    assert any(expected in line for line in messages(fit={"callbacks": [callback]})), messages(
        fit={"callbacks": [callback]}
    )


@pytest.mark.parametrize(
    "optimizer, expected",
    [
        ({"Adam": {"beta_1": 1.5}}, "Adam.beta_1: expected a value in [0, 1)"),
        ({"Adam": {"beta_1": [0.9]}}, "Adam.beta_1: expected one float"),
        ({"Adam": {"clipnorm": 1, "global_clipnorm": 1}}, "Adam: only one of clipnorm, clipvalue, global_clipnorm"),
        (
            {
                "SGD": {
                    "learning_rate": {
                        "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9}
                    }
                }
            },
            "decay_steps: expected at least 1",
        ),
        ({"Optimizer": {}}, "Optimizer is Keras's base class"),
    ],
)
def test_optimizer_arguments_that_fail_in_a_step(optimizer, expected):
    found = messages(compile={"optimizer": optimizer})
    assert any(expected in line for line in found), found


def test_layer_sizes_rates_base_classes_and_names():
    raw = {
        "model": {
            "sequential": [
                {"Dense": {"units": 0}},
                {"Dropout": {"rate": 1.5}},
                "Layer",
                {"Dense": {"units": 4, "name": "x"}},
                {"Dense": {"units": 2, "name": "x"}},
            ]
        },
        "compile": {"loss": {"Loss": {}}, "metrics": [{"Metric": {}}], "loss_weights": [1, 2]},
    }
    found = "\n".join(f"{'.'.join(map(str, p.path))}: {p.message}" for p in check_config(raw))
    for expected in [
        "model.sequential.0.Dense.units: expected at least 1, received 0",
        "model.sequential.1.Dropout.rate: expected a value in [0, 1)",
        "model.sequential.2: Layer is Keras's base class",
        "model.sequential.4.Dense.name: layer name 'x' is already taken (at model.sequential[3].Dense)",
        "compile.loss: Loss is Keras's base class",
        "compile.metrics.0: Metric is Keras's base class",
        "compile.loss_weights: expected 1 weight(s), one per model output, received 2",
    ]:
        assert expected in found, found


def test_what_keras_takes_stays_accepted():
    assert (
        messages(
            compile={
                "optimizer": {"Adam": {"beta_1": 0.0, "clipnorm": 1.0}},
                "loss_weights": [1.0],
                "metrics": [{"Precision": {"thresholds": [0.3, 0.5]}}],
            },
            fit={
                "callbacks": [
                    {"EarlyStopping": {"patience": 0, "mode": "max", "monitor": "val_accuracy"}},
                    {"ReduceLROnPlateau": {"factor": 0.5, "min_lr": 0}},
                ]
            },
        )
        == []
    )
    assert (
        check_config(
            {
                "model": {
                    "sequential": [
                        {"Conv1D": {"filters": 2, "kernel_size": 3, "strides": [1]}},
                        {"Dense": {"units": 1, "kernel_constraint": {"MaxNorm": {"axis": [0, 1]}}}},
                    ]
                }
            }
        )
        == []
    )
