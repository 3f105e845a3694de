"""`dlflow serve` through real HTTP: TF Serving's REST API, decoded predictions equal `dlflow predict`'s."""

from __future__ import annotations

import csv
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from tests.conftest import run_cli
from tests.serve.conftest import cancer_table

ROWS = 20
LOAD_ROWS = 400  # 8 clients x 50 requests, one different image each


def digits_images(n: int = ROWS) -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images[:n, :, :, None].astype("float32")


def cancer_rows(n: int = ROWS):
    """The first rows of the served table without their labels; the last two have missing values
    (an empty cell: null) and a category training never saw."""
    frame = cancer_table().drop(columns=["diagnosis"]).iloc[:n].astype(object)
    frame.iloc[-1, frame.columns.get_loc("mean radius")] = None
    frame.iloc[-1, frame.columns.get_loc("size")] = None
    frame.iloc[-2, frame.columns.get_loc("size")] = "never seen"
    return frame


def dlflow_predict(run, path, work) -> list[dict]:
    done = run_cli("predict", str(run), str(path), "-o", "-", cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    return list(csv.DictReader(done.stdout.splitlines()))


def assert_same_predictions(served: list[dict], predicted: list[dict]) -> None:
    assert len(served) == len(predicted)
    for answer, row in zip(served, predicted):
        assert str(answer["label"]) == row["prediction"]
        assert answer["confidence"] == pytest.approx(float(row["prediction_confidence"]), abs=1e-5)
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def post(url: str, body) -> httpx.Response:
    if isinstance(body, (bytes, str)):
        return httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
    return httpx.post(url, json=body, timeout=30)


def metric(text: str, selector: str) -> float:
    """The value of the sample `name{label="value",...}` (labels in any order), as prometheus_client parses
    the exposition (0 when absent)."""
    import re

    from prometheus_client.parser import text_string_to_metric_families

    name, _, labels = selector.partition("{")
    wanted = dict(re.findall(r'(\w+)="([^"]*)"', labels))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return sample.value
    return 0.0


def test_status_and_metadata_have_tf_servings_shapes(digits_server):
    url = digits_server["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/models/digits-mlp")
    status = {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }
    for path in (url, f"{url}/versions/1"):
        response = httpx.get(path)
        assert response.status_code == 200 and response.json() == status
    metadata = httpx.get(f"{url}/metadata").json()
    assert metadata["model_spec"] == {"name": "digits-mlp", "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    image = signature["inputs"]["image"]
    assert image["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in image["tensor_shape"]["dim"]] == ["-1", "8", "8", "1"]
    assert [d["size"] for d in signature["outputs"]["label"]["tensor_shape"]["dim"]] == ["-1", "10"]
    assert metadata["metadata"]["dlflow"]["outputs"] == [
        {"name": "label", "task": "multiclass", "classes": list(range(10))}
    ]
    serving = metadata["metadata"]["dlflow"]["serving"]  # how the model is served, recorded
    assert serving["runtime"] == "onnxruntime" and serving["predict"].startswith("onnxruntime")  # --runtime auto
    assert (
        serving["parity"]["ok"] and serving["parity"]["max_rel_diff"] <= 1e-5 and serving["json"].startswith("orjson")
    )
    assert serving["endpoint"].startswith("ASGI middleware")
    assert serving["http"] == "uvicorn, httptools parser, uvloop event loop"  # make install installs both
    assert serving["max_batch_size"] >= 1
    assert httpx.get(f"{url}/versions/1/metadata").json() == metadata


@pytest.fixture(scope="module")
def digits_predicted(serve_runs, tmp_path_factory) -> list[dict]:
    """`dlflow predict` on the first LOAD_ROWS digits images (once for the tests below)."""
    path = tmp_path_factory.mktemp("digits-rows") / "digits.npz"
    np.savez(path, image=digits_images(LOAD_ROWS))
    return dlflow_predict(serve_runs["digits"], path, serve_runs["work"])


def test_image_rows_match_dlflow_predict(digits_server, digits_predicted):
    images = digits_images()
    response = post(f"{digits_server['url']}:predict", {"instances": images.tolist()})
    assert response.status_code == 200, response.text
    served = response.json()["predictions"]
    assert set(served[0]["probabilities"]) == {str(i) for i in range(10)}
    assert_same_predictions(served, digits_predicted[:ROWS])


def test_predictions_under_concurrent_load_equal_dlflow_predict(digits_server, digits_predicted):
    """8 clients x 50 one-row requests at once, each a different image: every answer is `dlflow predict`'s
    for that image (the label, and the confidence within 1e-6 of predict's 6 printed decimals), whatever
    the batch it was served in and whichever runtime serves it."""
    clients, images, predicted = 8, digits_images(LOAD_ROWS), digits_predicted
    url = f"{digits_server['url']}:predict"

    def client(k: int) -> list[tuple[int, dict]]:
        with httpx.Client(timeout=30) as session:
            return [
                (i, session.post(url, json={"instances": [images[i].tolist()]}).json()["predictions"][0])
                for i in range(k, len(images), clients)
            ]

    with ThreadPoolExecutor(clients) as pool:
        answers = dict(pair for part in pool.map(client, range(clients)) for pair in part)
    assert len(answers) == len(images)
    for i, row in enumerate(predicted):
        assert str(answers[i]["label"]) == row["prediction"], i
        assert answers[i]["confidence"] == pytest.approx(float(row["prediction_confidence"]), abs=1e-6), i


def test_columnar_format_and_version_path_give_the_same_predictions(digits_server):
    url = digits_server["url"]
    images = digits_images(5).tolist()
    rows = post(f"{url}:predict", {"instances": images}).json()["predictions"]
    assert post(f"{url}:predict", {"inputs": images}).json() == {"outputs": rows}
    assert post(f"{url}:predict", {"inputs": {"image": images}}).json() == {"outputs": rows}
    assert post(f"{url}/versions/1:predict", {"instances": [{"image": i} for i in images]}).json() == {
        "predictions": rows
    }


def test_table_rows_by_original_column_names_match_dlflow_predict(table_server, serve_runs, tmp_path):
    frame = cancer_rows()
    frame.to_csv(tmp_path / "rows.csv", index=False)  # None: an empty cell
    predicted = dlflow_predict(serve_runs["table"], tmp_path / "rows.csv", serve_runs["work"])
    url = table_server["url"]
    assert url.endswith("/v1/models/cancer")
    response = post(f"{url}:predict", {"instances": frame.to_dict(orient="records")})
    assert response.status_code == 200, response.text
    served = response.json()["predictions"]
    assert {p["label"] for p in served} <= {"benign", "malignant"}
    assert set(served[0]["probabilities"]) == {"benign", "malignant"}
    assert_same_predictions(served, predicted)
    columnar = post(f"{url}:predict", {"inputs": frame.to_dict(orient="list")}).json()["outputs"]
    assert [p["label"] for p in columnar] == [p["label"] for p in served]
    signature = httpx.get(f"{url}/metadata").json()["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["size"]["dtype"] == "DT_STRING"
    assert signature["inputs"]["mean_radius"]["dtype"] == "DT_FLOAT"


def _with(**changes):
    """A body of one full breast-cancer row with some columns changed (None: left out)."""

    def make() -> dict:
        row = cancer_table().drop(columns=["diagnosis"]).iloc[0].to_dict()
        for column, value in changes.items():
            column = column.replace("_", " ")
            if value is None:
                row.pop(column)
            else:
                row[column] = value
        return {"instances": [row]}

    return make


@pytest.mark.parametrize(
    "make_body, expected",
    [
        (lambda: '{"instances": [{"mean radius": 17.99,', "malformed JSON"),
        (_with(mean_radius=[1.0, 2.0]), 'instances[0]: column "mean radius": expected a number, received shape [2]'),
        (
            _with(mean_radius="large"),
            'instances[0]: column "mean radius": expected a number, received a string "large"',
        ),
        (_with(mean_texture=None), 'instances[0]: missing column "mean texture"'),
        (_with(mean_radiuss=2.0), 'instances[0]: unknown column "mean radiuss" (did you mean "mean radius"?)'),
        (_with(size=["large", "small"]), 'instances[0]: column "size": expected a string, received a list of 2'),
        (lambda: {"rows": []}, 'unknown key "rows"'),
    ],
    ids=[
        "malformed-json",
        "wrong-shape",
        "wrong-type",
        "missing-column",
        "unknown-column",
        "string-shape",
        "unknown-key",
    ],
)
def test_table_requests_the_model_cannot_take_are_400_with_a_clear_error(table_server, make_body, expected):
    response = post(f"{table_server['url']}:predict", make_body())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert expected in response.json()["error"]


def test_image_requests_of_the_wrong_shape_or_type_are_400(digits_server):
    url = f"{digits_server['url']}:predict"
    flat = post(url, {"instances": [list(range(64))]})
    assert flat.status_code == 400
    assert (
        flat.json()["error"] == 'instances[0]: input "image": expected numbers of shape [8, 8, 1], received shape [64]'
    )
    text = post(url, {"instances": [[["a"] * 8] * 8]})
    assert text.status_code == 400 and 'received a string "a"' in text.json()["error"]


def test_unknown_model_version_method_or_path_are_json_errors(digits_server):
    url = digits_server["url"]
    base = digits_server["server"]
    unknown = post(f"{base}/v1/models/nope:predict", {"instances": [[0]]})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": 'no model "nope"; this server serves "digits-mlp"'}
    assert httpx.get(f"{base}/v1/models/nope").status_code == 404
    assert httpx.get(f"{url}/versions/2").status_code == 404
    assert post(f"{url}:classify", {"instances": []}).status_code == 404
    assert httpx.get(f"{url}:predict").status_code == 405
    missing = httpx.get(f"{base}/v2/anything")
    assert missing.status_code == 404 and "error" in missing.json()


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows(digits_server):
    url = f"{digits_server['url']}:predict"
    metrics_url = digits_server["metrics"]
    images = digits_images(16)
    alone = [post(url, {"instances": [image.tolist()]}).json()["predictions"][0] for image in images]
    before = httpx.get(metrics_url).text
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda i: client.post(url, json={"instances": [images[i].tolist()] * (1 + i % 3)}), range(len(images))
            )
        )
    after = httpx.get(metrics_url).text
    for i, response in enumerate(responses):
        assert response.status_code == 200
        predictions = response.json()["predictions"]
        assert len(predictions) == 1 + i % 3
        for p in predictions:
            assert p["label"] == alone[i]["label"]
            assert p["confidence"] == pytest.approx(alone[i]["confidence"], abs=1e-5)
    # Every request went through exactly one model call; calls <= requests.
    requests = metric(after, "dlflow_serve_batch_requests_sum") - metric(before, "dlflow_serve_batch_requests_sum")
    calls = metric(after, "dlflow_serve_batch_requests_count") - metric(before, "dlflow_serve_batch_requests_count")
    examples = metric(after, "dlflow_serve_batch_size_sum") - metric(before, "dlflow_serve_batch_size_sum")
    assert requests == len(images)
    assert 1 <= calls <= len(images)
    assert examples == sum(1 + i % 3 for i in range(len(images)))


def test_metrics_count_requests_latency_batches_and_load_time(digits_server):
    url = digits_server["url"]
    post(f"{url}:predict", {"instances": digits_images(2).tolist()})
    post(f"{url}:predict", "not json")
    response = httpx.get(digits_server["metrics"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert metric(text, 'dlflow_serve_requests_total{endpoint="predict",code="200"}') >= 1
    assert metric(text, 'dlflow_serve_requests_total{endpoint="predict",code="400"}') >= 1
    assert "# TYPE dlflow_serve_request_duration_seconds histogram" in text
    assert metric(text, 'dlflow_serve_request_duration_seconds_count{endpoint="predict"}') >= 2
    assert metric(text, 'dlflow_serve_request_duration_seconds_bucket{endpoint="predict",le="+Inf"}') >= 2
    assert metric(text, "dlflow_serve_batch_size_count") >= 1
    assert metric(text, 'dlflow_serve_model_load_seconds{model="digits-mlp"}') > 0


def test_a_busy_port_exits_2_with_one_line(serve_runs):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "digits-mlp", "--port", str(port), cwd=serve_runs["work"], timeout=120)
    assert done.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
