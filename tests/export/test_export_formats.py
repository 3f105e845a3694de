"""dlflow.export on real tiny models: every format written, reloaded and checked for parity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlflow.errors import DataError, UsageError
from dlflow.export import ARTIFACTS, FORMATS, export_model

ALL = list(FORMATS)


def _leftovers(export_dir: Path) -> list[str]:
    """Hidden staging/temporary entries that a finished export must not leave behind."""
    return sorted(p.name for p in export_dir.iterdir() if p.name.startswith("."))


def test_image_model_all_formats(image_model, tmp_path):
    model, x = image_model
    lines: list[str] = []
    report = export_model(model, tmp_path, ALL, x, log=lines.append)

    assert report["ok"] is True
    assert report["samples"] == len(x)
    assert report["skipped"] == []
    assert list(report["formats"]) == ALL
    on_disk = json.loads((tmp_path / "parity.json").read_text())
    assert on_disk == report

    expected_tolerance = {"keras": 1e-5, "saved_model": 1e-5, "tflite": 1e-3, "onnx": 1e-5}
    for fmt, entry in report["formats"].items():
        assert entry["ok"] is True, (fmt, entry)
        assert entry["path"] == ARTIFACTS[fmt]
        artifact = tmp_path / entry["path"]
        assert artifact.exists()
        assert entry["size_bytes"] > 0
        if artifact.is_file():
            assert entry["size_bytes"] == artifact.stat().st_size
        assert entry["tolerance"] == expected_tolerance[fmt]
        assert 0 <= entry["max_rel_diff"] <= entry["tolerance"]
        assert 0 <= entry["max_abs_diff"]
        assert entry["seconds"] >= 0
        assert list(entry["outputs"]) == ["output_0"]
    assert report["formats"]["tflite"]["quantize"] == "none"
    assert (tmp_path / "saved_model" / "saved_model.pb").exists()
    assert _leftovers(tmp_path) == []
    assert any(line.startswith("onnx:") and "parity ok" in line for line in lines)


def test_two_inputs_two_outputs_all_formats(two_io_model, tmp_path):
    model, x = two_io_model
    report = export_model(model, tmp_path, ALL, x)

    assert report["ok"] is True, report
    for fmt, entry in report["formats"].items():
        assert entry["ok"] is True, (fmt, entry)
        assert sorted(entry["outputs"]) == ["category", "price"]


def test_dict_keys_that_differ_from_input_names_and_bare_columns(keras, tmp_path):
    """Artifacts name inputs by the Keras input names, not by the keys model.predict takes, and
    need the trailing axis that model.predict adds to a bare column itself."""
    a, b, c = keras.Input((2,), name="alpha"), keras.Input((3,), name="beta"), keras.Input((1,), name="gamma")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b, c]))
    model = keras.Model({"x": a, "y": b, "gamma": c}, out)
    rng = np.random.default_rng(3)
    x = {
        "x": rng.normal(size=(16, 2)),
        "y": rng.normal(size=(16, 3)),  # float64: cast on the way
        "gamma": rng.normal(size=16),
    }  # a column of shape (16,) for an input of shape (None, 1)
    report = export_model(model, tmp_path, ["saved_model", "tflite", "onnx"], x)
    assert report["ok"] is True, report


def test_normalization_layer_all_formats(normalized_model, tmp_path):
    # Keras' own model.export(format="onnx") leaves the adapted mean and variance as required
    # graph inputs; the SavedModel-based conversion must bake them in.
    model, x = normalized_model
    report = export_model(model, tmp_path, ALL, x)

    assert report["ok"] is True, report
    for fmt, entry in report["formats"].items():
        assert list(entry["outputs"]) == ["output_0", "output_1"], fmt
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["measurements"]


def test_string_inputs_lookup_works_and_text_vectorization_is_skipped(keras, tmp_path):
    color = keras.Input((1,), dtype="string", name="color")
    age = keras.Input((1,), name="age")
    lookup = keras.layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot")
    h = keras.layers.Concatenate()([keras.layers.Reshape((4,))(lookup(color)), age])
    lookup_model = keras.Model({"color": color, "age": age}, keras.layers.Dense(1)(h))
    samples = {
        "color": np.array([["red"], ["blue"], ["mauve"], ["green"]] * 4),  # unicode array
        "age": np.linspace(0, 1, 16).reshape(16, 1),
    }
    report = export_model(lookup_model, tmp_path / "lookup", ALL, samples)
    assert report["ok"] is True, report
    assert report["skipped"] == []

    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(["the cat sat", "a dog ran far"])
    text = keras.Input((1,), dtype="string", name="text")
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 4)(vectorize(text)))
    text_model = keras.Model(text, keras.layers.Dense(2, activation="softmax")(h))
    texts = np.array([["the cat ran"], ["A dog, far!"]] * 8, dtype=object)
    out = tmp_path / "text"
    (out).mkdir()
    (out / "model.onnx").write_bytes(b"stale artifact from an earlier export")
    report = export_model(text_model, out, ALL, texts)

    assert report["ok"] is True, report  # unsupported formats do not count as mismatches
    assert report["skipped"] == ["tflite", "onnx"]
    for fmt in ("tflite", "onnx"):
        entry = report["formats"][fmt]
        assert entry["ok"] is False and entry["unsupported"] is True and entry["path"] is None
        assert "StringSplitV2" in entry["skipped"]
    assert report["formats"]["saved_model"]["ok"] is True
    assert not (out / "model.onnx").exists()  # the stale file would contradict parity.json
    assert not (out / "model.tflite").exists()


def test_tflite_dynamic_quantization(image_model, tmp_path):
    model, x = image_model
    report = export_model(model, tmp_path, ["tflite"], x, tflite_quantize="dynamic")
    entry = report["formats"]["tflite"]

    assert report["ok"] is True, report
    assert entry["quantize"] == "dynamic"
    assert entry["tolerance"] == 5e-2
    assert 0 < entry["max_rel_diff"] <= 5e-2  # the weights really were quantized
    plain = export_model(model, tmp_path / "plain", ["tflite"], x)["formats"]["tflite"]
    assert entry["size_bytes"] < plain["size_bytes"] / 2


def test_tflite_int8_reports_agreement(image_model, tmp_path):
    model, x = image_model
    entry = export_model(model, tmp_path, ["tflite"], x, tflite_quantize="int8")["formats"]["tflite"]

    assert entry["quantize"] == "int8"
    assert entry["min_agreement"] == 0.9
    agreement = entry["outputs"]["output_0"]["agreement"]
    assert 0.0 <= agreement <= 1.0
    assert entry["ok"] is (agreement >= 0.9)


def test_unknown_format_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        export_model(object(), tmp_path, ["keras", "tfjs"], np.zeros((1, 1)))
    assert "tfjs" in caught.value.message
    assert all(fmt in " ".join(caught.value.lines()) for fmt in FORMATS)
    with pytest.raises(UsageError):
        export_model(object(), tmp_path, ["tflite"], np.zeros((1, 1)), tflite_quantize="int4")
    assert not (tmp_path / "parity.json").exists()


def test_samples_missing_an_input_is_a_data_error(two_io_model, tmp_path):
    model, x = two_io_model
    with pytest.raises(DataError):
        export_model(model, tmp_path, ["onnx"], {"features": x["features"]})


def test_mismatch_is_reported_not_raised(image_model, tmp_path, monkeypatch):
    from dlflow.export import onnx_format

    real_predict = onnx_format.predict

    def drifting_predict(path, feed):
        return {k: v + 0.01 for k, v in real_predict(path, feed).items()}

    monkeypatch.setattr(onnx_format, "predict", drifting_predict)
    model, x = image_model
    report = export_model(model, tmp_path, ["keras", "onnx"], x)

    assert report["ok"] is False
    assert report["formats"]["keras"]["ok"] is True
    onnx = report["formats"]["onnx"]
    assert onnx["ok"] is False
    assert onnx["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)
    assert onnx["max_rel_diff"] > onnx["tolerance"]
    assert json.loads((tmp_path / "parity.json").read_text())["ok"] is False
    assert (tmp_path / "model.onnx").exists()  # a complete artifact stays, for inspection


def test_failed_conversion_leaves_no_partial_artifact(image_model, tmp_path, monkeypatch):
    from dlflow.export import onnx_format

    def crashing_write(saved_model_dir, dest, **kwargs):
        dest.write_bytes(b"half an onnx graph")
        raise RuntimeError("converter blew up")

    monkeypatch.setattr(onnx_format, "write", crashing_write)
    model, x = image_model
    report = export_model(model, tmp_path, ["onnx", "saved_model"], x)

    assert report["ok"] is False
    onnx = report["formats"]["onnx"]
    assert onnx["ok"] is False and onnx["path"] is None and "converter blew up" in onnx["error"]
    assert not onnx.get("unsupported")
    assert report["formats"]["saved_model"]["ok"] is True
    assert not (tmp_path / "model.onnx").exists()
    assert _leftovers(tmp_path) == []


def test_importing_the_package_does_not_import_tensorflow():
    code = "import sys, dlflow.export, dlflow.export.parity; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"
