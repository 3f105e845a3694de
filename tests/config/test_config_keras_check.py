"""The Keras check on its own: nested objects, identifier strings, what is left alone."""

from __future__ import annotations

import pytest

from dlflow.config.keras_check import argument_categories, check_config, check_object, is_class_mapping


def messages(raw: dict) -> list[str]:
    return [f"{'.'.join(map(str, p.path))}: {p.message}" for p in check_config(raw)]


def test_many_valid_nested_forms_pass():
    raw = {
        "data": {"augment": [{"RandomFlip": {"mode": "horizontal"}}, {"RandomRotation": {"factor": 0.1}}]},
        "model": {
            "sequential": [
                {"Dense": {"units": 8, "activation": {"LeakyReLU": {"negative_slope": 0.1}}}},
                {"Dense": {"units": 8, "kernel_initializer": {"HeNormal": {"seed": 1}}, "bias_initializer": "zeros"}},
                {
                    "Dense": {
                        "units": 8,
                        "kernel_constraint": "max_norm",
                        "bias_constraint": {"MaxNorm": {"max_value": 2}},
                    }
                },
                {"Dense": {"units": 8, "activation": None, "kernel_regularizer": {"l2": {"l2": 0.01}}}},
                {"TimeDistributed": {"layer": {"Dense": {"units": 2}}}},
                {
                    "Bidirectional": {
                        "layer": {"LSTM": {"units": 4}},
                        "backward_layer": {"GRU": {"units": 4, "go_backwards": True}},
                    }
                },
                {"RNN": {"cell": {"LSTMCell": {"units": 3}}}},
                {"MaxPooling2D": None},
                "GlobalAveragePooling1D",
            ]
        },
        "compile": {
            "optimizer": {
                "LossScaleOptimizer": {
                    "inner_optimizer": {
                        "SGD": {"learning_rate": {"CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10}}}
                    }
                }
            },
            "loss": {"Huber": {"delta": 1.0}},
            "metrics": ["acc", "AUC", "mae", {"Precision": {"thresholds": 0.5}}, "ACC"],
        },
        "fit": {"callbacks": ["TerminateOnNaN", {"ReduceLROnPlateau": {"factor": 0.5}}]},
    }
    assert messages(raw) == []


def test_nested_problems_are_found_at_any_depth():
    raw = {
        "compile": {
            "optimizer": {
                "LossScaleOptimizer": {
                    "inner_optimizer": {"SGD": {"learning_rate": {"CosineDecai": {"initial_learning_rate": 0.1}}}}
                }
            }
        },
        "model": {"sequential": [{"Bidirectional": {"layer": {"LSTM": {"units": 4, "activation": "tanhh"}}}}]},
    }
    assert messages(raw) == [
        "model.sequential.0.Bidirectional.layer.LSTM.activation: unknown activation 'tanhh' (did you mean 'tanh'?)",
        "compile.optimizer.LossScaleOptimizer.inner_optimizer.SGD.learning_rate: "
        "unknown learning-rate schedule 'CosineDecai' (did you mean 'CosineDecay'?)",
    ]


def test_a_layer_written_as_a_string_still_needs_its_required_arguments():
    assert messages({"model": {"sequential": ["Dense"]}}) == ["model.sequential.0: missing required argument 'units'"]


def test_loss_class_name_used_as_identifier_is_fine_and_unknown_is_not():
    assert messages({"compile": {"loss": "Huber"}}) == []
    assert messages({"compile": {"loss": "hubber"}}) == ["compile.loss: unknown loss 'hubber' (did you mean 'huber'?)"]


def test_malformed_shapes_are_left_to_the_schema():
    raw = {"model": {"sequential": [{"Dense": 10}, {"A": {}, "B": {}}, 5]}, "compile": {"optimizer": 3}}
    assert messages(raw) == []


def test_unplaced_class_mappings_are_checked_when_they_name_a_keras_class():
    raw = {"model": {"sequential": [{"Lambda": {"function": "f", "arguments": {"L2": {"l3": 1}}}}]}}
    assert messages(raw) == ["model.sequential.0.Lambda.arguments.L2: unknown argument 'l3' (did you mean 'l2'?)"]
    raw = {"model": {"sequential": [{"Lambda": {"function": "f", "arguments": {"Mine": {"x": 1}}}}]}}
    assert messages(raw) == []


def test_check_object():
    assert check_object({"Adam": {"learning_rate": 0.1}}, "optimizers") == []
    (problem,) = check_object("relux", "activations")
    assert problem.message == "unknown activation 'relux' (did you mean 'relu'?)"


@pytest.mark.parametrize(
    "name, categories",
    [
        ("kernel_regularizer", ("regularizers",)),
        ("activity_regularizer", ("regularizers",)),
        ("depthwise_initializer", ("initializers",)),
        ("bias_constraint", ("constraints",)),
        ("recurrent_activation", ("activations", "layers")),
        ("learning_rate", ("schedules",)),
        ("backward_layer", ("layers",)),
        ("units", ()),
    ],
)
def test_argument_categories(name, categories):
    assert argument_categories(name) == categories


def test_is_class_mapping():
    assert is_class_mapping({"Huber": {"delta": 1}})
    assert is_class_mapping({"MaxPooling2D": None})
    assert not is_class_mapping({"priority": "mse"})
    assert not is_class_mapping({"Huber": {}, "MSE": {}})
    assert not is_class_mapping("mse")


def test_compile_only_aliases():
    assert messages({"compile": {"loss": "CE", "metrics": ["Accuracy", "ACC"]}}) == []
    assert messages({"compile": {"metrics": ["ce"]}}) == [
        "compile.metrics.0: unknown metric 'ce' (did you mean 'bce'?)"
    ]
