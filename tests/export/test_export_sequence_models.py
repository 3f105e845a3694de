"""Recurrent and Transformer models export to SavedModel and ONNX with parity (token ids in, as after
TextVectorization, whose string ops no converter but the SavedModel's takes: tests/e2e/test_sequence_models.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dlflow.export import export_model

pytestmark = pytest.mark.slow  # builds, fits and converts two models: make test-all

VOCABULARY, STEPS = 200, 16


def _token_ids(rows: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = rng.integers(1, VOCABULARY, size=(rows, STEPS))
    ids[::3, STEPS // 2 :] = 0  # a third of the rows padded: the masks matter
    return ids.astype("int64"), rng.integers(0, 3, size=rows)


def _fit_and_export(keras, outputs, tokens, tmp_path):
    ids, labels = _token_ids()
    model = keras.Model(tokens, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(ids, labels, epochs=1, batch_size=16, verbose=0)
    return export_model(model, tmp_path / "export", ["keras", "saved_model", "onnx"], ids[:32])


def test_masked_stacked_recurrent_model_exports_with_parity(keras, tmp_path):
    tokens = keras.Input((STEPS,), dtype="int64", name="tokens")
    x = keras.layers.Embedding(VOCABULARY, 8, mask_zero=True)(tokens)
    x = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(x)
    x = keras.layers.GRU(8, recurrent_dropout=0.1)(x)
    x = keras.layers.SimpleRNN(4)(keras.layers.RepeatVector(3)(x))
    report = _fit_and_export(keras, keras.layers.Dense(3, activation="softmax")(x), tokens, tmp_path)
    assert report["skipped"] == [], report
    assert report["ok"], report
    assert {"keras", "saved_model", "onnx"} == set(report["formats"])


def test_keras_hub_transformer_encoder_exports_with_parity(keras, tmp_path):
    import keras_hub

    tokens = keras.Input((STEPS,), dtype="int64", name="tokens")
    x = keras_hub.layers.TokenAndPositionEmbedding(VOCABULARY, STEPS, 16, mask_zero=True)(tokens)
    x = keras_hub.layers.TransformerEncoder(intermediate_dim=16, num_heads=2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    report = _fit_and_export(keras, keras.layers.Dense(3, activation="softmax")(x), tokens, tmp_path)
    assert report["skipped"] == [], report
    assert report["ok"], report
