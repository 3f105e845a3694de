"""`dlflow define` through the real CLI: it frames the task and writes a config that runs as is."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import DLFLOW, ROOT, run_cli


def define_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """`dlflow define ARGS` with stdin that is not a terminal (so it never asks)."""
    env = {k: v for k, v in os.environ.items() if k != "DLFLOW_RUNS_DIR"}
    return subprocess.run(
        [*DLFLOW, "define", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def wine_csv(tmp_path: Path) -> Path:
    """scikit-learn's wine as a CSV: named cultivars, a string column, one missing value."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["cultivar"] = np.array(["barolo", "grignolino", "barbera"], dtype=object)[frame.pop("target")]
    frame["region"] = np.random.default_rng(0).choice(["north", "south", "east"], len(frame))
    frame.loc[3, "alcohol"] = np.nan
    path = tmp_path / "data" / "wine.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow  # make test-all; keeps make test under 10 minutes on 2 cores
def test_define_table_writes_a_config_that_validates_and_trains(tmp_path, wine_csv):
    done = define_cli("data/wine.csv", "--target", "cultivar", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "wine.yaml"
    assert f"wrote {config.name}" in done.stdout
    assert "multiclass" in done.stdout and "majority class" in done.stdout
    text = config.read_text()
    raw = yaml.safe_load(text)
    assert raw["task"] == "multiclass"
    assert raw["data"]["source"] == "data/wine.csv"  # relative to the config's folder
    assert raw["data"]["features"]["region"] == "categorical"
    assert raw["model"]["sequential"][-1] == {"Dense": {"units": 3, "activation": "softmax"}}
    assert raw["compile"]["loss"] == "sparse_categorical_crossentropy"
    assert text.count("#") > 20  # every section commented
    assert "The baseline to beat: majority class" in text

    assert run_cli("validate", "wine.yaml", cwd=tmp_path).returncode == 0
    trained = run_cli("train", "wine.yaml", "--set", "fit.epochs=2", "--json", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert json.loads(trained.stdout)["epochs_completed"] == 2


def test_define_off_a_terminal_never_asks_and_names_the_missing_flag(tmp_path, wine_csv):
    done = define_cli("data/wine.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert "--target" in done.stderr and "cultivar" in done.stderr  # the columns are listed
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*.yaml"))

    missing = define_cli(cwd=tmp_path)
    assert missing.returncode == 2 and "missing DATA" in missing.stderr


def test_define_bad_input_is_a_usage_error(tmp_path, wine_csv):
    for args, words in [
        (("nothere.csv",), "no such file"),
        (("data/wine.csv", "-t", "cultivar", "--task", "ordinal"), "--task"),
        (("data/wine.csv", "-t", "cultivr"), "did you mean 'cultivar'"),
    ]:
        done = define_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, args
        assert words in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_define_does_not_overwrite_without_force(tmp_path, wine_csv):
    target = tmp_path / "mine.yaml"
    target.write_text("# my own config\n")
    done = define_cli("data/wine.csv", "-t", "cultivar", "-o", "mine.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "--force" in done.stderr
    assert target.read_text() == "# my own config\n"
    forced = define_cli("data/wine.csv", "-t", "cultivar", "-o", "mine.yaml", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert yaml.safe_load(target.read_text())["name"] == "wine"


def test_define_to_stdout_prints_only_the_yaml(tmp_path, wine_csv):
    done = define_cli("data/wine.csv", "-t", "cultivar", "-o", "-", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["data"]["target"] == "cultivar"
    assert "then dlflow develop wine.yaml" in done.stderr  # the summary goes to stderr
    assert not list(tmp_path.glob("*.yaml"))


@pytest.mark.slow
def test_define_builtin_digits_writes_a_convnet_that_trains(tmp_path):
    done = define_cli("builtin:digits", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["task"] == "multiclass" and summary["metric"] == "accuracy"
    assert summary["baseline"]["kind"] == "common-sense"
    assert summary["baseline"]["score"] == pytest.approx(0.1, abs=0.02)  # 10 balanced classes
    assert summary["model"].startswith("convnet")
    raw = yaml.safe_load(Path(summary["config"]).read_text())
    assert [next(iter(layer)) if isinstance(layer, dict) else layer for layer in raw["model"]["sequential"]] == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "GlobalAveragePooling2D",
        "Dropout",
        "Dense",
    ]
    trained = run_cli("train", "digits.yaml", "--set", "fit.epochs=1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]


@pytest.mark.slow
def test_define_image_folder_resizes_mixed_sizes_and_trains(tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (pixels, label) in enumerate(zip(digits.images[:150], digits.target[:150])):
        if label > 2:
            continue
        folder = tmp_path / "shapes" / ["zero", "one", "two"][label]
        folder.mkdir(parents=True, exist_ok=True)
        size = (16, 16) if i % 2 else (20, 18)  # mixed sizes: define must choose one
        Image.fromarray((pixels * 15).astype("uint8")).convert("RGB").resize(size).save(folder / f"{i}.png")
    done = define_cli("shapes", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["data"]["format"] == "image_dir" and summary["task"] == "multiclass"
    raw = yaml.safe_load((tmp_path / "shapes.yaml").read_text())
    assert raw["data"]["image"]["color_mode"] == "rgb"
    assert len(raw["data"]["image"]["size"]) == 2
    trained = run_cli("train", "shapes.yaml", "--set", "fit.epochs=1", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]


@pytest.mark.skipif(not (ROOT / "datasets" / "bbc_news").is_dir(), reason="no text folder in datasets/")
def test_define_text_folder_picks_a_text_model(tmp_path):
    done = define_cli(str(ROOT / "datasets" / "bbc_news"), "-o", "news.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    raw = yaml.safe_load((tmp_path / "news.yaml").read_text())
    assert raw["data"]["text"]["output_mode"] in ("multi_hot", "int")
    assert raw["task"] == "multiclass"
    assert run_cli("validate", "news.yaml", cwd=tmp_path).returncode == 0


@pytest.mark.skipif(not (ROOT / "datasets" / "sunspots.csv").is_file(), reason="no time series in datasets/")
def test_define_time_series_forecasts_with_windows(tmp_path):
    done = define_cli(str(ROOT / "datasets" / "sunspots.csv"), "--target", "sunactivity", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["task"] == "regression" and summary["metric"] == "mae"
    assert summary["baseline"]["name"] == "last value"
    raw = yaml.safe_load((tmp_path / "sunspots.yaml").read_text())
    assert raw["data"]["window"]["horizon"] == 1
    assert raw["data"]["features"] == {"year": "ignore"}  # the time axis is not a feature
    layers = [next(iter(layer)) for layer in raw["model"]["sequential"]]
    assert "LSTM" in layers and layers[-1] == "Dense" and "Rescaling" not in layers  # dlflow scales the target
    assert run_cli("validate", "sunspots.yaml", cwd=tmp_path).returncode == 0


def test_define_asks_for_the_target_at_a_terminal(tmp_path, wine_csv):
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DLFLOW_RUNS_DIR"}
    process = subprocess.Popen(
        [*DLFLOW, "define", "data/wine.csv"],
        cwd=tmp_path,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    os.close(terminal)
    try:
        os.write(controller, b"14\n\n")  # the 14th column (cultivar); the task as inferred
        out, err = process.communicate(timeout=300)
    finally:
        os.close(controller)
    assert process.returncode == 0, err
    assert "Which column is the target?" in err and "cultivar" in err  # asked on stderr, columns offered
    raw = yaml.safe_load((tmp_path / "wine.yaml").read_text())
    assert raw["data"]["target"] == "cultivar" and raw["task"] == "multiclass"


def _define_at_a_terminal(*args: str, answers: bytes, cwd: Path) -> tuple[subprocess.Popen, str]:
    """`dlflow define ARGS` with a terminal for stdin, fed `answers`; (the process, its stderr)."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "DLFLOW_RUNS_DIR"}
    process = subprocess.Popen(
        [*DLFLOW, "define", *args],
        cwd=cwd,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    os.close(terminal)
    try:
        os.write(controller, answers)
        _, err = process.communicate(timeout=300)
    finally:
        os.close(controller)
    return process, err


def test_define_asks_again_after_an_answer_that_is_not_a_choice(tmp_path, wine_csv):
    process, err = _define_at_a_terminal(
        answers=b"data/wnie.csv\ndata/wine.csv\ncultivr\n99\ncultivar\nordinal\n\n", cwd=tmp_path
    )
    assert process.returncode == 0, err
    assert "No such file or folder 'data/wnie.csv'. Data (" in err
    assert "'cultivr' is not a choice (did you mean 'cultivar'?)" in err
    assert "'99' is not a choice: expected a name or a number 1-15" in err
    assert "'ordinal' is not a choice: expected one of binary, multiclass, multilabel, regression" in err
    raw = yaml.safe_load((tmp_path / "wine.yaml").read_text())
    assert raw["data"]["target"] == "cultivar" and raw["task"] == "multiclass"


def test_define_says_the_config_exists_before_any_question(tmp_path, wine_csv):
    (tmp_path / "wine.yaml").write_text("# mine\n")
    process, err = _define_at_a_terminal("data/wine.csv", answers=b"cultivar\n\n", cwd=tmp_path)
    assert process.returncode == 2
    assert "wine.yaml already exists; pass --force" in err and "Which column" not in err
    assert (tmp_path / "wine.yaml").read_text() == "# mine\n"


def test_define_imports_no_tensorflow(tmp_path):
    code = (
        "import sys; from pathlib import Path; from dlflow.workflow.define import define; "
        "d = define('builtin:wine', config_dir=Path('.')); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; print(d.task)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "multiclass"
