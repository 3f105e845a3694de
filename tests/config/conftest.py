"""Shared fixtures for the config tests: the digits example and a file writer."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

DIGITS = """\
name: digits-convnet
seed: 1337
task: multiclass
data:
  source: builtin:digits
  split: {validation: 0.15, test: 0.15, stratify: true}
model:
  sequential:
    - Conv2D: {filters: 32, kernel_size: 3, activation: relu, padding: same}
    - MaxPooling2D
    - Flatten
    - Dropout: {rate: 0.5}
    - Dense: {units: 10, activation: softmax, kernel_regularizer: {L2: {l2: 1.0e-4}}}
compile:
  optimizer: {Adam: {learning_rate: 1.0e-3}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
fit:
  epochs: 30
  batch_size: 32
  callbacks:
    - EarlyStopping: {monitor: val_loss, patience: 5, restore_best_weights: true}
"""

FUNCTIONAL = """\
name: tickets
data:
  source: data/tickets.csv
  target: [priority, department]
model:
  functional:
    inputs: [title, body, tags]
    layers:
      title_emb: {Embedding: {input_dim: 10000, output_dim: 64}, inputs: title}
      title_vec: {LSTM: {units: 128}, inputs: title_emb}
      body_emb:  {Embedding: {input_dim: 10000, output_dim: 64}, inputs: body}
      body_vec:  {Bidirectional: {layer: {LSTM: {units: 32}}}, inputs: body_emb}
      joined:    {Concatenate: {}, inputs: [title_vec, body_vec, tags]}
      priority:  {Dense: {units: 1}, inputs: joined}
      department: {Dense: {units: 4}, inputs: joined}
    outputs: [priority, department]
compile:
  optimizer: {Adam: {learning_rate: {ExponentialDecay: {initial_learning_rate: 0.01, decay_steps: 100, decay_rate: 0.9}}}}
  loss: {priority: mse, department: sparse_categorical_crossentropy}
  loss_weights: {priority: 1.0, department: 0.2}
  metrics: {priority: [mae], department: [accuracy]}
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Writes config text to `tmp_path/<name>` and returns the path."""

    def _write(text: str, name: str = "cfg.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def digits() -> str:
    """The digits convnet example config (DESIGN.md §2)."""
    return DIGITS


@pytest.fixture
def functional() -> str:
    """A two-output functional example config."""
    return FUNCTIONAL


@pytest.fixture
def problems_of(write) -> Callable[..., list[str]]:
    """Loads config text expecting a ConfigError; returns its problem lines."""
    from dlflow.config import load_config
    from dlflow.errors import ConfigError

    def _problems(text: str, overrides=(), name: str = "cfg.yaml") -> list[str]:
        path = write(text, name)
        with pytest.raises(ConfigError) as info:
            load_config(path, overrides)
        assert info.value.exit_code == 2
        prefix = str(path)
        # Messages name the file as given; tests compare against the bare file name.
        return [line.replace(prefix, name, 1) for line in info.value.problems]

    return _problems
