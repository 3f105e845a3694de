"""The predict endpoint in front of FastAPI (dlflow.serve.predict_endpoint), driven in-process over ASGI."""

from __future__ import annotations

import anyio
import httpx
import numpy as np

from dlflow.data.dataset import InputSpec, TargetSpec
from dlflow.data.tasks import decode_predictions
from dlflow.serve.app import create_app
from dlflow.serve.model import ServedModel
from dlflow.serve.predict_endpoint import PREDICT_PATHS

WEIGHTS = np.arange(6, dtype="float32").reshape(2, 3) / 10


def _served() -> ServedModel:
    def predict(batch):
        logits = batch["x"] @ WEIGHTS
        return {"y": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)}

    return ServedModel(
        name="m",
        inputs=[InputSpec("x", (2,), "float32", "numeric")],
        outputs=[TargetSpec("y", "multiclass", ("a", "b", "c"), (3,))],
        predict=predict,
        decode=decode_predictions,
    )


def _requests(app, *calls):
    """Each (method, path, body) through the app, its lifespan (the batcher) running."""

    async def go():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8501") as client:
                return [await client.request(method, path, content=body) for method, path, body in calls]

    return anyio.run(go)


def test_predict_answers_and_refuses_as_the_rest_of_the_api_does():
    app = create_app(_served())
    body = b'{"instances": [[1, 2], [0, 0]]}'
    plain, versioned, wrong_model, wrong_version, bad, get, status, metrics = _requests(
        app,
        ("POST", "/v1/models/m:predict", body),
        ("POST", "/v1/models/m/versions/1:predict", body),
        ("POST", "/v1/models/n:predict", body),
        ("POST", "/v1/models/m/versions/2:predict", body),
        ("POST", "/v1/models/m:predict", b'{"instances": [[1, "2"]]}'),
        ("GET", "/v1/models/m:predict", None),
        ("GET", "/v1/models/m", None),
        ("GET", "/metrics", None),
    )
    expected = _served().predict({"x": np.array([[1, 2], [0, 0]], "float32")})["y"]
    answer = plain.json()["predictions"]
    assert plain.status_code == 200 and plain.headers["content-type"] == "application/json"
    assert [p["label"] for p in answer] == ["c", "a"]  # ties go to the first class, as argmax does
    np.testing.assert_allclose([list(p["probabilities"].values()) for p in answer], expected, rtol=1e-6)
    assert versioned.json() == plain.json()
    assert wrong_model.status_code == 404 and wrong_model.json() == {"error": 'no model "n"; this server serves "m"'}
    assert wrong_version.status_code == 404 and "no version" in wrong_version.json()["error"]
    assert bad.status_code == 400 and 'expected numbers of shape [2], received a string "2"' in bad.json()["error"]
    assert get.status_code == 405 and get.json() == {"error": '":predict" takes POST, received GET'}
    assert status.status_code == 200
    assert 'dlflow_serve_requests_total{code="200",endpoint="predict"} 2.0' in metrics.text
    assert 'dlflow_serve_requests_total{code="404",endpoint="predict"} 2.0' in metrics.text
    assert 'dlflow_serve_requests_total{code="400",endpoint="predict"} 1.0' in metrics.text


def test_the_predict_operations_are_in_the_openapi_document():
    document = create_app(_served()).openapi()
    for path in PREDICT_PATHS:
        operation = document["paths"][path]["post"]
        assert [p["name"] for p in operation["parameters"]] == [name for name in ("name", "version") if name in path]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema["oneOf"][0]["required"] == ["instances"]
        assert {"200", "400", "404", "413"} <= set(operation["responses"])


def test_a_client_gone_before_its_body_gets_no_answer_and_leaves_nothing_behind():
    app = create_app(_served())
    sent = []

    async def go():
        async with app.router.lifespan_context(app):
            messages = [{"type": "http.request", "body": b'{"inst', "more_body": True}, {"type": "http.disconnect"}]

            async def receive():
                return messages.pop(0)

            async def send(message):
                sent.append(message)

            scope = {
                "type": "http",
                "method": "POST",
                "path": "/v1/models/m:predict",
                "raw_path": b"/v1/models/m:predict",
                "query_string": b"",
                "headers": [(b"host", b"127.0.0.1:8501")],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 8501),
                "scheme": "http",
                "root_path": "",
                "http_version": "1.1",
                "asgi": {"version": "3.0"},
            }
            await app(scope, receive, send)
            return app.state.batcher._incoming

    announced = anyio.run(go)
    assert sent == [] and announced == 0


def _outer_calls(app) -> list[str]:
    """The paths that went through FastAPI's built middleware stack (wrapped to count them)."""
    calls: list[str] = []
    inner = app.middleware_stack or app.build_middleware_stack()

    async def counted(scope, receive, send):
        if scope["type"] == "http":
            calls.append(scope["path"])
        await inner(scope, receive, send)

    app.middleware_stack = counted
    return calls


def test_predict_requests_skip_fastapis_outer_layers_and_the_rest_go_through_them():
    app = create_app(_served())
    assert app._own_layers is not None  # found in FastAPI's stack before it is wrapped below
    calls = _outer_calls(app)
    body = b'{"instances": [[1, 2]]}'
    predicted, refused, status = _requests(
        app,
        ("POST", "/v1/models/m:predict", body),
        ("POST", "/v1/models/m:predict", b'{"instances": 3}'),
        ("GET", "/v1/models/m", None),
    )
    assert (predicted.status_code, refused.status_code, status.status_code) == (200, 400, 200)
    assert calls == ["/v1/models/m"]
    metrics = _requests(app, ("GET", "/metrics", None))[0].text
    assert 'dlflow_serve_requests_total{code="200",endpoint="predict"} 1.0' in metrics  # still counted
    assert 'dlflow_serve_requests_total{code="400",endpoint="predict"} 1.0' in metrics


def test_with_opentelemetry_configured_predict_requests_go_through_fastapi(monkeypatch):
    app = create_app(_served())
    monkeypatch.setattr(app._native_telemetry, "enabled", lambda: True)
    calls = _outer_calls(app)
    predicted = _requests(app, ("POST", "/v1/models/m:predict", b'{"instances": [[1, 2]]}'))[0]
    assert predicted.status_code == 200 and calls == ["/v1/models/m:predict"]
