"""Text folders (text_dir): loading, training through the CLI, decoded predictions, bad data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFIGS, cli_json, run_cli
from tests.data.kinds_helpers import DATASETS, assert_data_error, write_config

BBC = DATASETS / "bbc_news"
TOPICS = ["business", "entertainment", "politics", "sports", "tech"]
BAG_OF_WORDS = [{"Dense": {"units": 2, "activation": "softmax"}}]


def _text_folder(root: Path) -> Path:
    for label, words in (("cats", "meow purr whiskers"), ("dogs", "woof bark fetch")):
        (root / label).mkdir(parents=True)
        for i in range(6):
            (root / label / f"{i}.txt").write_text(f"{words} number {i}", encoding="utf-8")
    return root


def _load(folder: Path, **data):
    import yaml

    from dlflow.config import loads_config
    from dlflow.data.sources import load_dataset

    config = {"name": "t", "data": {"source": str(folder), **data}, "model": {"sequential": BAG_OF_WORDS}}
    loaded = loads_config(yaml.safe_dump(config), "t.yaml")
    return load_dataset(loaded.config.data, loaded.config.task)


def test_bbc_folder_loads_raw_strings_with_topics_as_classes():
    dataset = _load(BBC, target="topic")
    assert dataset.kind == "text" and len(dataset) == 500
    assert dataset.inputs["text"].shape == (500, 1)  # text files, read when asked
    texts = np.asarray(dataset.inputs["text"])
    assert texts.shape == (500, 1) and isinstance(texts[0, 0], str)
    assert dataset.input_specs["text"].role == "text"
    spec = dataset.target_specs["topic"]
    assert spec.task == "multiclass" and list(spec.classes) == TOPICS
    assert dataset.info["per_class"] == {t: 100 for t in TOPICS}
    first = sorted((BBC / "business").glob("*.txt"))[0].read_text(encoding="utf-8")
    assert texts[0, 0] == first


def test_a_folder_without_images_is_detected_as_text_dir_and_a_bom_is_dropped(tmp_path):
    from dlflow.data.sources import detect_format

    folder = _text_folder(tmp_path / "pets")
    (folder / "cats" / "bom.txt").write_bytes("\ufeffmeow".encode("utf-8"))
    (folder / "cats" / "notes.md").write_text("not a document")
    assert detect_format(str(folder)) == "text_dir"
    dataset = _load(folder)
    assert len(dataset) == 13 and "meow" in np.asarray(dataset.inputs["text"])[:, 0]
    assert dataset.target_specs["label"].task == "binary"


# -- training through the CLI ------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """configs/bbc_text.yaml as shipped, cut to a few epochs."""
    work = tmp_path_factory.mktemp("text")
    result = cli_json(
        "train", str(CONFIGS / "bbc_text.yaml"), "--set", "fit.epochs=12", "--set", "fit.verbose=0", cwd=work
    )
    return {"work": work, "run": Path(result["run"]), "metrics": result}


def test_short_run_beats_the_majority_class(short_run):
    manifest = json.loads((short_run["run"] / "manifest.json").read_text())
    assert manifest["data"]["kind"] == "text"
    assert manifest["data"]["sizes"] == {"train": 350, "validation": 75, "test": 75}
    result = cli_json("evaluate", "bbc-text", cwd=short_run["work"])
    assert result["metrics"]["accuracy"] > 0.5  # majority share is 0.2


def _articles_csv(folder: Path, nth: int) -> tuple[Path, list[str]]:
    """The nth article of each topic as a one-column CSV (`text`) for `dlflow predict`."""
    articles = [sorted((BBC / topic).glob("*.txt"))[nth].read_text(encoding="utf-8") for topic in TOPICS]
    table = folder / "articles.csv"
    with open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([a] for a in articles)
    return table, articles


@pytest.mark.slow  # a longer check beside faster ones of the same path: make test-all runs it (make test < 10 min)
def test_predictions_decode_to_topic_names(short_run, tmp_path):
    table, _ = _articles_csv(tmp_path, 0)
    done = run_cli("predict", "bbc-text", str(table), "-o", "-", cwd=short_run["work"])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 5 and {r["prediction"] for r in rows} <= set(TOPICS)


@pytest.mark.slow  # a longer duplicate of faster checks: make test-all runs it
def test_saved_model_answers_raw_strings_like_dlflow_predict(short_run, tmp_path):
    import numpy as np
    import tensorflow as tf

    table, articles = _articles_csv(tmp_path, 1)
    done = run_cli("predict", "bbc-text", str(table), "-o", "-", cwd=short_run["work"])
    assert done.returncode == 0, done.stderr[-2000:]
    predicted = list(csv.DictReader(done.stdout.splitlines()))

    exported = cli_json("export", "bbc-text", "--format", "saved_model", cwd=short_run["work"])
    assert exported["formats"]["saved_model"]["ok"]
    served = tf.saved_model.load(str(short_run["run"] / "export" / "saved_model"))
    probabilities = served.serve(tf.constant(np.array(articles, dtype=object).reshape(-1, 1), dtype=tf.string)).numpy()
    for row, p in zip(predicted, probabilities):
        assert row["prediction"] == TOPICS[int(p.argmax())]
        assert float(row["prediction_confidence"]) == pytest.approx(float(p.max()), abs=1e-5)


@pytest.mark.slow
def test_full_config_is_well_above_the_majority_class(tmp_path):
    cli_json("train", str(CONFIGS / "bbc_text.yaml"), "--set", "fit.verbose=0", cwd=tmp_path)
    result = cli_json("evaluate", "bbc-text", cwd=tmp_path)
    assert result["samples"] == 75
    assert result["metrics"]["accuracy"] >= 0.85, result["metrics"]  # majority share: 0.2


# -- bad data ----------------------------------------------------------------------------------


def test_non_utf8_file_is_a_data_error_naming_file_and_byte(tmp_path):
    folder = _text_folder(tmp_path / "pets")
    bad = folder / "dogs" / "latin1.txt"
    bad.write_bytes("caf\u00e9 ".encode("utf-8") + "\u00a3100".encode("latin-1"))
    config = write_config(
        tmp_path, "latin", {"source": str(folder), "text": {"output_mode": "multi_hot"}}, BAG_OF_WORDS
    )
    assert_data_error(run_cli("train", str(config), cwd=tmp_path), str(bad), "not UTF-8 text (byte 6")


def test_empty_class_and_single_class_are_data_errors(tmp_path):
    from dlflow.errors import DataError

    folder = _text_folder(tmp_path / "pets")
    (folder / "birds").mkdir()
    with pytest.raises(DataError, match="class folder 'birds' holds no text files"):
        _load(folder)
    single = tmp_path / "single" / "cats"
    single.mkdir(parents=True)
    (single / "a.txt").write_text("meow")
    with pytest.raises(DataError, match="one class folder \\('cats'\\)"):
        _load(tmp_path / "single")
