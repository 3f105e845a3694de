"""A table's text column: token-id sequences under output_mode int, a recorded bag-of-words default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import cli_json, run_cli
from tests.data.kinds_helpers import assert_data_error
from tests.data.text_table import write_sentences

EMBEDDING_BAG = [
    {"Embedding": {"input_dim": 2000, "output_dim": 16}},
    "GlobalAveragePooling1D",
    {"Dense": {"units": 5, "activation": "softmax"}},
]


def _config(
    work: Path,
    name: str,
    model: dict,
    *,
    text: dict | None = None,
    words: str = "ignore",
    epochs: int = 2,
    source: str = "sentences.csv",
) -> Path:
    data = {"source": source, "target": "topic", "features": {"text": "text", "words": words}}
    if text is not None:
        data["text"] = text
    config = {
        "name": name,
        "seed": 7,
        "data": data,
        "model": model,
        "fit": {"epochs": epochs, "batch_size": 32, "verbose": 0},
    }
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def sentences(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("table_text")
    write_sentences(work / "sentences.csv", limit=600)
    return work


def test_int_output_mode_feeds_token_sequences_to_the_embedding(sentences):
    import keras

    config = _config(
        sentences,
        "ids",
        {"sequential": EMBEDDING_BAG},
        text={"output_mode": "int", "sequence_length": 16, "max_tokens": 2000},
    )
    result = cli_json("train", str(config), cwd=sentences)
    run = Path(result["run"])
    assert result["epochs_completed"] == 2
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["defaults"] == {}  # output_mode was written, classes are not scaled
    model = keras.saving.load_model(run / "model.keras")
    vectorize = model.get_layer("vectorize_text")
    assert vectorize.get_config()["output_mode"] == "int"
    embedding = next(layer for layer in model.layers if isinstance(layer, keras.layers.Embedding))
    assert tuple(embedding.input.shape) == (None, 16) and "int" in str(embedding.input.dtype)
    ids = model.get_layer("vectorize_text")(keras.ops.convert_to_tensor([["Shares in the firm rose sharply"]]))
    assert tuple(ids.shape) == (1, 16) and int(keras.ops.sum(ids[0, :5] > 0)) == 5


def test_left_out_output_mode_is_a_printed_and_recorded_bag_of_words(sentences):
    config = _config(
        sentences, "bag", {"sequential": [{"Dense": {"units": 5, "activation": "softmax"}}]}, words="numeric", epochs=1
    )
    done = run_cli("train", str(config), "--json", cwd=sentences)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "default: data.text.output_mode: tf_idf (a table's text column (text)" in done.stderr
    manifest = json.loads((Path(json.loads(done.stdout)["run"]) / "manifest.json").read_text())
    assert manifest["defaults"] == {"data.text.output_mode": "tf_idf"}


def test_sequential_model_cannot_join_token_ids_with_numbers(sentences):
    config = _config(
        sentences,
        "mixed",
        {"sequential": EMBEDDING_BAG},
        words="numeric",
        text={"output_mode": "int", "sequence_length": 16, "max_tokens": 2000},
    )
    done = run_cli("train", str(config), cwd=sentences)
    assert_data_error(done, "mixed.yaml:", "model.sequential", "text", "token-id sequences", "model.functional")


@pytest.mark.slow
def test_functional_model_routes_token_ids_to_an_embedding_beside_numbers(sentences):
    graph = {
        "inputs": ["text", "words"],
        "outputs": ["topic"],
        "layers": {
            "embedded": {"Embedding": {"input_dim": 2000, "output_dim": 8}, "inputs": "text"},
            "pooled": {"GlobalAveragePooling1D": {}, "inputs": "embedded"},
            "joined": {"Concatenate": {}, "inputs": ["pooled", "words"]},
            "topic": {"Dense": {"units": 5, "activation": "softmax"}, "inputs": "joined"},
        },
    }
    config = _config(
        sentences,
        "routed",
        {"functional": graph},
        words="numeric",
        epochs=1,
        text={"output_mode": "int", "sequence_length": 16, "max_tokens": 2000},
    )
    assert cli_json("train", str(config), cwd=sentences)["epochs_completed"] == 1


@pytest.mark.slow
def test_sentence_topics_reach_072_with_an_embedding_bag(tmp_path):
    """13,350 BBC sentences, Embedding -> GlobalAveragePooling1D -> Dense, 8 epochs: test accuracy >= 0.72."""
    write_sentences(tmp_path / "sentences.csv")
    model = {
        "sequential": [
            {"Embedding": {"input_dim": 20000, "output_dim": 32}},
            "GlobalAveragePooling1D",
            {"Dense": {"units": 5, "activation": "softmax"}},
        ]
    }
    config = _config(
        tmp_path, "sentences", model, epochs=8, text={"output_mode": "int", "sequence_length": 32, "max_tokens": 20000}
    )
    cli_json("train", str(config), cwd=tmp_path)
    result = cli_json("evaluate", "sentences", cwd=tmp_path)
    assert result["metrics"]["accuracy"] >= 0.72, result["metrics"]
