"""Tiny trained models shared by the export tests (trained once per session, 1 epoch)."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROWS = 64


@pytest.fixture(scope="session")
def keras():
    import keras

    keras.utils.set_random_seed(7)
    return keras


@pytest.fixture(scope="session")
def image_model(keras):
    """Raw 0-255 pixels -> Rescaling -> Conv2D -> Dense -> softmax over 3 classes."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(ROWS, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 3, size=ROWS)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1), name="pixels"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),  # 12,800 weights: big enough to be quantized
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, x


@pytest.fixture(scope="session")
def two_io_model(keras):
    """Dict inputs by name; a regression head and a softmax head, returned as a dict."""
    rng = np.random.default_rng(1)
    x = {
        "features": rng.normal(size=(ROWS, 6)).astype("float32"),
        "extra": rng.normal(size=(ROWS, 3)).astype("float32"),
    }
    y = {"price": rng.normal(size=(ROWS, 1)), "category": rng.integers(0, 4, size=ROWS)}
    features = keras.Input((6,), name="features")
    extra = keras.Input((3,), name="extra")
    h = keras.layers.Concatenate()([features, extra])
    h = keras.layers.Dense(8, activation="relu")(h)
    outputs = {
        "price": keras.layers.Dense(1, name="price")(h),
        "category": keras.layers.Dense(4, activation="softmax", name="category")(h),
    }
    model = keras.Model({"features": features, "extra": extra}, outputs)
    model.compile("adam", {"price": "mse", "category": "sparse_categorical_crossentropy"})
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, x


@pytest.fixture(scope="session")
def normalized_model(keras):
    """A Normalization layer adapted on data (large offsets and scales), two list outputs."""
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(ROWS, 5)) * [1, 10, 100, 1000, 0.1] + [5, -50, 500, 1e4, 0]).astype("float32")
    norm = keras.layers.Normalization()
    norm.adapt(x)
    inputs = keras.Input((5,), name="measurements")
    h = keras.layers.Dense(8, activation="tanh")(norm(inputs))
    model = keras.Model(inputs, [keras.layers.Dense(1)(h), keras.layers.Dense(2, activation="sigmoid")(h)])
    model.compile("adam", ["mse", "binary_crossentropy"])
    model.fit(x, [rng.normal(size=(ROWS, 1)), rng.integers(0, 2, size=(ROWS, 2))], epochs=1, verbose=0)
    return model, x
