"""Loading good configs: values, defaults, resolved paths, dumping and re-loading."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from dlflow.config import (
    ExperimentConfig,
    LoadedConfig,
    dump_config,
    json_schema,
    load_config,
    loads_config,
)


def test_digits_example_loads(digits, write):
    path = write(digits)
    loaded = load_config(path)
    assert isinstance(loaded, LoadedConfig)
    config = loaded.config
    assert isinstance(config, ExperimentConfig)
    assert config.name == "digits-convnet"
    assert config.task == "multiclass"
    assert config.model.api == "sequential"
    assert config.model.sequential[1] == "MaxPooling2D"
    assert config.model.sequential[4]["Dense"]["kernel_regularizer"] == {"L2": {"l2": 1.0e-4}}
    assert config.compile.optimizer == {"Adam": {"learning_rate": 1.0e-3}}
    assert config.fit.callbacks[0]["EarlyStopping"]["patience"] == 5
    assert config.runtime.device == "auto"  # a default
    assert loaded.path == path.resolve()
    assert loaded.base_dir == path.parent.resolve()
    assert loaded.raw["model"]["sequential"][2] == "Flatten"
    assert config.data.source == "builtin:digits"


def test_functional_example_loads(functional, write):
    config = load_config(write(functional)).config
    assert config.model.api == "functional"
    assert config.model.functional.outputs == ["priority", "department"]
    assert config.compile.loss == {"priority": "mse", "department": "sparse_categorical_crossentropy"}


def test_positions_are_recorded(digits, write):
    loaded = load_config(write(digits))
    assert loaded.positions.locate(("fit", "epochs")) == (19, 3)
    assert loaded.positions.locate(("fit", "epochs"), value=True) == (19, 11)
    assert loaded.positions.locate(("model", "sequential", 4, "Dense", "units")) == (13, 15)


def test_relative_data_source_resolves_against_the_config_folder(write, tmp_path):
    path = write("data: {source: ../data/train.csv}\nmodel: {factory: 'm:build'}\n", "configs/exp.yaml")
    loaded = load_config(path)
    assert loaded.config.data.source == str(tmp_path / "data" / "train.csv")
    assert loaded.raw["data"]["source"] == "../data/train.csv"  # as written


def test_relative_source_does_not_depend_on_the_working_folder(write, tmp_path, monkeypatch):
    write("data: {source: train.csv}\nmodel: {factory: 'm:build'}\n", "configs/exp.yaml")
    monkeypatch.chdir(tmp_path)
    assert load_config("configs/exp.yaml").config.data.source == str(tmp_path / "configs" / "train.csv")


def test_absolute_and_builtin_sources_are_kept(write, tmp_path):
    absolute = str(tmp_path / "x.npz")
    path = write(f"data: {{source: {absolute}}}\nmodel: {{factory: 'm:build'}}\n")
    assert load_config(path).config.data.source == absolute
    path = write("data: {source: 'builtin:imdb'}\nmodel: {factory: 'm:build'}\n")
    assert load_config(path).config.data.source == "builtin:imdb"


def test_name_defaults_to_the_file_stem(digits, write):
    text = digits.replace("name: digits-convnet\n", "")
    assert load_config(write(text, "mnist-small.yaml")).config.name == "mnist-small"


def test_scientific_notation_is_a_float(write):
    text = "data: {source: x.csv}\nmodel: {factory: 'm:build'}\ncompile: {optimizer: {Adam: {learning_rate: 3e-4}}}\n"
    assert load_config(write(text)).config.compile.optimizer == {"Adam": {"learning_rate": 3e-4}}


def test_class_weight_keys_may_be_integers(write):
    text = "data: {source: x.csv}\nmodel: {factory: 'm:build'}\nfit: {class_weight: {0: 1.0, 1: 4.5}}\n"
    assert load_config(write(text)).config.fit.class_weight == {"0": 1.0, "1": 4.5}


def test_dump_is_reloadable_and_equal(digits, functional, write, tmp_path):
    for text in (digits, functional):
        loaded = load_config(write(text))
        dumped = dump_config(loaded.config)
        again = loads_config(dumped, "config.yaml", base_dir=tmp_path / "elsewhere")
        assert again.config == loaded.config


def test_dump_fills_defaults_in_schema_order_and_keeps_null_kwargs(write):
    text = (
        "data: {source: x.csv, image: {size: [28, 28]}}\n"
        "model: {sequential: [{MaxPooling2D: null}, {Dense: {units: 1, activation: null}}]}\n"
    )
    dumped = yaml.safe_load(dump_config(load_config(write(text)).config))
    assert list(dumped) == ["name", "seed", "data", "model", "compile", "fit", "runtime", "export", "monitor"]
    assert dumped["data"]["image"] == {"size": [28, 28], "color_mode": "rgb"}
    assert "task" not in dumped and "text" not in dumped["data"]  # unset optional sections
    assert dumped["model"]["sequential"] == [{"MaxPooling2D": None}, {"Dense": {"units": 1, "activation": None}}]
    assert dumped["fit"]["epochs"] == 10


def test_json_schema_for_editors():
    schema = json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "dlflow experiment config"
    assert {"data", "model"} <= set(schema["required"])
    assert schema["properties"]["fit"]
    assert schema["additionalProperties"] is False


def test_raw_is_not_changed_by_validation(digits, write):
    loaded = load_config(write(digits))
    assert "runtime" not in loaded.raw
    assert os.path.isabs(str(loaded.path)) and isinstance(loaded.path, Path)


def test_where_locates_paths_for_later_messages(digits, write):
    path = write(digits)
    loaded = load_config(path, ["fit.epochs=3"])
    assert loaded.where(("data", "source")) == f"{path}:5:11: data.source"
    assert loaded.where(("data", "target")) == f"{path}:4:1: data.target"  # not written: its parent
    assert loaded.where(("fit", "epochs")) == "--set fit.epochs: fit.epochs"
    assert ("data", "source") in loaded.positions
    assert loaded.positions.get(("data", "source")) == (5, 3)
