"""`dlflow serve --output raw` answers as TF Serving does for the exported SavedModel; `{"b64": ...}` images."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest

from dlflow.serve.model import ServedModel
from dlflow.serve.raw import raw_predictions
from tests.conftest import CONFIGS, cli_json
from tests.serve.conftest import TF_RUNTIME, cancer_table, running_server
from tests.serve.test_serve_http import digits_images, post

ROWS = 6


def signature_outputs(saved_model, feed: dict) -> dict[str, np.ndarray]:
    """What TF Serving computes: the SavedModel's `serving_default` signature on the request's inputs."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    outputs = fn(**{name: tf.constant(value, dtype=specs[name].dtype) for name, value in feed.items()})
    return {name: value.numpy() for name, value in outputs.items()}


def tf_serving_shaped(outputs: dict[str, np.ndarray], *, columnar: bool):
    """TF Serving's REST answer for these signature outputs (its documented row and columnar shapes)."""
    if len(outputs) == 1:
        values = next(iter(outputs.values())).tolist()
        return {"outputs": values} if columnar else {"predictions": values}
    if columnar:
        return {"outputs": {name: value.tolist() for name, value in outputs.items()}}
    rows = len(next(iter(outputs.values())))
    return {"predictions": [{name: value[i].tolist() for name, value in outputs.items()} for i in range(rows)]}


def assert_same(answer, expected) -> None:
    assert set(answer) == set(expected)
    key = next(iter(expected))
    got, want = answer[key], expected[key]
    if isinstance(want, dict):
        assert set(got) == set(want)
        for name in want:
            np.testing.assert_allclose(np.asarray(got[name], dtype="float64"), want[name], rtol=1e-5, atol=1e-6)
    elif want and isinstance(want[0], dict):
        for row_got, row_want in zip(got, want, strict=True):
            assert set(row_got) == set(row_want)
            for name in row_want:
                np.testing.assert_allclose(row_got[name], row_want[name], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(np.asarray(got, dtype="float64"), np.asarray(want), rtol=1e-5, atol=1e-6)


def export_saved_model(run, work):
    report = cli_json("export", str(run), "--format", "saved_model", cwd=work)
    assert report["formats"]["saved_model"]["path"]
    return run / "export" / "saved_model"


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory) -> dict:
    """The digits MLP trained for 1 epoch, exported as a SavedModel."""
    work = tmp_path_factory.mktemp("raw")
    run = cli_json("train", str(CONFIGS / "digits_mlp.yaml"), "--set", "fit.epochs=1", cwd=work)["run"]
    run = Path(run)
    return {"work": work, "run": run, "saved_model": export_saved_model(run, work)}


def test_raw_digits_equals_saved_model_signature(digits_mlp):
    images = digits_images(ROWS)
    expected = signature_outputs(digits_mlp["saved_model"], {"image": images})
    assert list(expected) == ["output_0"]
    with running_server(digits_mlp["run"], digits_mlp["work"], "--output", "raw", *TF_RUNTIME) as server:
        url = f"{server['url']}:predict"
        rows = post(url, {"instances": images.tolist()})
        columns = post(url, {"inputs": {"image": images.tolist()}})
        png = post(url, {"instances": [{"b64": _png(image)} for image in images]})
        array = post(url, {"instances": (_png_pixels(images) * (16.0 / 255.0)).tolist()})
        metadata = __import__("httpx").get(f"{server['url']}/metadata", timeout=30).json()
    assert rows.status_code == columns.status_code == png.status_code == array.status_code == 200, png.text
    assert_same(rows.json(), tf_serving_shaped(expected, columnar=False))
    assert_same(columns.json(), tf_serving_shaped(expected, columnar=True))
    assert len(rows.json()["predictions"][0]) == 10  # the softmax itself, not a decoded label
    # A base64 PNG of the image predicts what the same pixels sent as an array predict.
    np.testing.assert_allclose(png.json()["predictions"], array.json()["predictions"], rtol=1e-5, atol=1e-6)
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert list(signature["outputs"]) == ["output_0"]


@pytest.mark.slow
def test_raw_table_equals_saved_model_signature(serve_runs):
    saved_model = export_saved_model(serve_runs["table"], serve_runs["work"])
    frame = cancer_table().drop(columns=["diagnosis"]).iloc[:ROWS]
    with running_server(serve_runs["table"], serve_runs["work"], "--output", "raw", *TF_RUNTIME) as server:
        names = [spec["name"] for spec in _dlflow_inputs(server)]
        columns = {spec["name"]: spec.get("column", spec["name"]) for spec in _dlflow_inputs(server)}
        instances = [
            {
                name: frame[columns[name]].iloc[i].item()
                if hasattr(frame[columns[name]].iloc[i], "item")
                else frame[columns[name]].iloc[i]
                for name in names
            }
            for i in range(ROWS)
        ]
        answer = post(f"{server['url']}:predict", {"instances": instances})
    assert answer.status_code == 200, answer.text
    feed = {
        name: np.asarray(
            [[row[name]] for row in instances], dtype=object if isinstance(instances[0][name], str) else "float32"
        )
        for name in names
    }
    expected = signature_outputs(saved_model, feed)  # the very request's names are the signature's
    assert_same(answer.json(), tf_serving_shaped(expected, columnar=False))


def test_b64_refused_for_other_inputs_and_for_bad_bytes():
    from dlflow.data.dataset import InputSpec
    from dlflow.serve.request import RequestError, parse_predict_request

    image = InputSpec("image", (8, 8, 1), "float32", "image", scale=1.0 / 16.0)
    with pytest.raises(RequestError, match="not a base64-encoded image"):
        parse_predict_request(b'{"instances": [{"b64": "bm90IGFuIGltYWdl"}]}', [image])
    number = InputSpec("age", (1,), "float32", "numeric")
    with pytest.raises(RequestError, match="image inputs only"):
        parse_predict_request(b'{"instances": [{"age": {"b64": "AAAA"}}]}', [number])
    parsed = parse_predict_request(f'{{"inputs": [{{"b64": "{_png(np.full((4, 4, 1), 16.0))}"}}]}}'.encode(), [image])
    assert parsed.inputs["image"].shape == (1, 8, 8, 1)  # resized to the input's size
    np.testing.assert_allclose(parsed.inputs["image"], 16.0)


def test_raw_shapes_of_several_outputs():
    """Several outputs: row format is a list of objects by SavedModel output name, columnar an object."""
    served = ServedModel(
        name="m", inputs=[], outputs=[], predict=None, decode=None, raw_names={"price": "output_0", "kind": "output_1"}
    )
    outputs = {"price": np.array([[1.5], [2.5]], "float32"), "kind": np.array([[0.1, 0.9], [0.8, 0.2]], "float32")}
    rows = raw_predictions(served, outputs, columnar=False)
    assert rows == {
        "predictions": [
            {"output_0": [1.5], "output_1": pytest.approx([0.1, 0.9])},
            {"output_0": [2.5], "output_1": pytest.approx([0.8, 0.2])},
        ]
    }
    columns = raw_predictions(served, outputs, columnar=True)
    assert columns["outputs"]["output_0"] == [[1.5], [2.5]] and set(columns["outputs"]) == {"output_0", "output_1"}


def _dlflow_inputs(server) -> list[dict]:
    import httpx

    return httpx.get(f"{server['url']}/metadata", timeout=30).json()["metadata"]["dlflow"]["inputs"]


def _png_pixels(images: np.ndarray) -> np.ndarray:
    """The 0-255 pixels a PNG of these 0-16 digits holds."""
    return np.round(images * (255.0 / 16.0)).astype("uint8").astype("float32")


def _png(image: np.ndarray) -> str:
    from PIL import Image

    pixels = _png_pixels(image[np.newaxis])[0, :, :, 0].astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
