"""Lazy time series windows (dlflow.data.windows): the series is stored once, windows are index
ranges; they equal the gathered windows, batch as the gathered arrays did, and a series far past
what gathered windows could hold in memory loads and splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from tests.data.kinds_helpers import DATASETS

MLP = ["Flatten", {"Dense": {"units": 1}}]


def _load(data: dict):
    from dlflow.config import loads_config
    from dlflow.data.sources import load_dataset

    config = {"name": "t", "data": data, "model": {"sequential": MLP}}
    loaded = loads_config(yaml.safe_dump(config), "t.yaml")
    return load_dataset(loaded.config.data, loaded.config.task)


def _materialized(dataset):
    from dataclasses import replace

    return replace(dataset, inputs={k: np.asarray(v) for k, v in dataset.inputs.items()})


def test_a_series_past_the_gathered_windows_memory_loads_lazily_and_trains_its_batches(tmp_path):
    from dlflow.data.pipeline import to_tf_dataset
    from dlflow.data.split import make_split
    from dlflow.data.windows import SeriesWindows

    rows = 2_200_000  # 2.2M windows x 256 steps gathered would be 2.1 GiB of float32
    source = tmp_path / "long.parquet"
    pd.DataFrame({"level": np.arange(rows, dtype="float32")}).to_parquet(source)
    dataset = _load({"source": str(source), "target": "level", "window": {"length": 256}})
    windows = dataset.inputs["series"]
    assert isinstance(windows, SeriesWindows) and windows.shape == (len(dataset), 256, 1)
    assert windows.values.nbytes == rows * 4  # the series once, not windows x length
    split = make_split(dataset, validation=0.15, test=0.15, stratify=False, seed=0)
    validation = dataset.take(split.validation)
    inputs, targets = next(iter(to_tf_dataset(validation, batch_size=8, shuffle=False, seed=0)))
    ends = validation.inputs["series"].ends[:8]
    assert np.array_equal(inputs.numpy()[:, :, 0], ends[:, None] + np.arange(-255, 1)[None, :])
    assert np.array_equal(targets.numpy(), ends + 1)
    shuffled, _ = next(iter(to_tf_dataset(dataset.take(split.train), batch_size=8, shuffle=True, seed=3)))
    first = shuffled.numpy()[:, -1, 0].astype(int)
    assert np.array_equal(shuffled.numpy()[:, :, 0], first[:, None] + np.arange(-255, 1)[None, :])
    assert not np.array_equal(first, np.sort(first))  # reshuffled, by a permutation past the buffer size


def test_sunspots_windows_and_training_batches_equal_the_gathered_ones():
    import keras

    from dlflow.data.pipeline import to_tf_dataset

    window = {"length": 24, "horizon": 1}
    dataset = _load(
        {
            "source": str(DATASETS / "sunspots.csv"),
            "target": "sunactivity",
            "window": window,
            "features": {"year": "ignore"},
            "split": {"validation": 0.0, "test": 0.0},
        }
    )
    values = pd.read_csv(DATASETS / "sunspots.csv")[["sunactivity"]].to_numpy("float32")
    reference = keras.utils.timeseries_dataset_from_array(
        values[:-1], targets=values[24:, 0], sequence_length=24, batch_size=10_000
    )
    inputs, targets = next(iter(reference))
    assert np.array_equal(np.asarray(dataset.inputs["series"]), inputs.numpy())
    assert np.array_equal(dataset.targets["sunactivity"], targets.numpy())
    lazy = to_tf_dataset(dataset, batch_size=16, shuffle=True, seed=1337)
    gathered = to_tf_dataset(_materialized(dataset), batch_size=16, shuffle=True, seed=1337)
    for (x, y), (x_ref, y_ref) in zip(lazy, gathered, strict=True):
        assert np.array_equal(x.numpy(), x_ref.numpy()) and np.array_equal(y.numpy(), y_ref.numpy())


def test_window_moments_and_digests_equal_those_of_the_gathered_windows():
    from dlflow.data.timeseries import window_offsets
    from dlflow.data.windows import SeriesWindows

    values = np.random.default_rng(0).normal(size=(400, 2)).astype("float32")
    values[100:130] = values[250:280]  # repeated stretches: equal windows
    for rate, stride in ((1, 1), (2, 3), (3, 2)):
        offsets = window_offsets(12, rate)
        windows = SeriesWindows(values, np.arange(12 - 1, 399, stride), offsets)
        steps = np.asarray(windows).reshape(-1, 2).astype("float64")
        mean, variance = windows.step_moments()
        assert np.allclose(mean, steps.mean(axis=0)) and np.allclose(variance, steps.var(axis=0))
        gathered = [bytes(row) for row in np.asarray(windows).reshape(len(windows), -1)]
        digests = windows.digests().tolist()
        assert len(set(digests)) == len(set(gathered)) < len(gathered)
        assert all(
            (digests[i] == digests[j]) == (gathered[i] == gathered[j])
            for i in range(len(gathered))
            for j in range(i + 1, len(gathered), 7)
        )
