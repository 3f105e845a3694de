"""Numbers a config cannot take: seeds outside NumPy's range, NaN and infinity anywhere."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "seed, expected",
    [
        ("-1", "expected a value at least 0, received -1"),
        (str(2**64), "expected a value less than 4294967296, received 18446744073709551616"),
    ],
)
def test_seed_out_of_numpy_range_is_refused(digits, problems_of, seed, expected):
    assert problems_of(digits.replace("seed: 1337", f"seed: {seed}")) == [f"cfg.yaml:2:7: seed: {expected}"]


def test_largest_numpy_seed_is_accepted(digits, write):
    from dlflow.config import load_config

    assert load_config(write(digits.replace("seed: 1337", f"seed: {2**32 - 1}"))).config.seed == 2**32 - 1


@pytest.mark.parametrize(
    "old, new, line",
    [
        (
            "learning_rate: 1.0e-3",
            "learning_rate: .nan",
            "cfg.yaml:15:37: compile.optimizer.Adam.learning_rate: expected a finite number, received nan",
        ),
        (
            "batch_size: 32",
            "batch_size: 32\n  class_weight: {0: .inf, 1: 1.0}",
            "cfg.yaml:21:21: fit.class_weight[0]: expected a finite number, received inf",
        ),
        (
            "metrics: [accuracy]",
            "metrics: [accuracy]\n  loss_weights: [.nan]",
            "cfg.yaml:18:18: compile.loss_weights[0]: expected a finite number, received nan",
        ),
    ],
)
def test_non_finite_numbers_are_config_errors(digits, problems_of, old, new, line):
    assert problems_of(digits.replace(old, new)) == [line]


def test_non_finite_numbers_from_overrides_are_config_errors(digits, problems_of):
    lines = problems_of(digits, overrides=["compile.loss_weights=[nan]", "fit.class_weight={'1': inf}"])
    assert lines == [
        "--set compile.loss_weights: compile.loss_weights[0]: expected a finite number, received 'nan'",
        "--set fit.class_weight: fit.class_weight[\"1\"]: expected a finite number, received 'inf'",
    ]
