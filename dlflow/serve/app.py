"""The REST app: TensorFlow Serving's REST API for one model, plus Prometheus `/metrics`.

| method | path                                                  | answer                              |
|--------|-------------------------------------------------------|-------------------------------------|
| GET    | `/v1/models/<name>` (or `.../versions/1`)             | status: `{"model_version_status": [...]}` |
| GET    | `/v1/models/<name>/metadata` (or `.../versions/1/metadata`) | the signature: inputs, outputs, dtypes, shapes |
| POST   | `/v1/models/<name>:predict` (or `.../versions/1:predict`) | decoded predictions (`dlflow.serve.response`), or with `output="raw"` the output tensors as TF Serving answers (`dlflow.serve.raw`) |
| GET    | `/metrics`                                            | Prometheus text format              |

Errors are JSON, `{"error": "..."}`: 400 for a request the model cannot take (malformed JSON,
a wrong shape or type, a missing or unknown input), 404 for an unknown model, version or path,
405 for a wrong HTTP method, 500 when the model itself fails.

Before any route, `dlflow.serve.guard` refuses a foreign Host (400, when bound to loopback), a
missing bearer token (401, when one is set) and a body over the size limit (413). Predict
requests are then answered by `dlflow.serve.predict_endpoint`, an ASGI middleware in front of
FastAPI's own layers: parsed, refused past `max_rows` rows (413), batched with concurrent ones
(`dlflow.serve.batching`) into one call of the model. FastAPI answers everything else.
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from dlflow.serve import jsonio, stack
from dlflow.serve.api_errors import ApiError, check_model
from dlflow.serve.batching import MicroBatcher
from dlflow.serve.guard import RequestGuard
from dlflow.serve.metrics import CONTENT_TYPE, ServerMetrics
from dlflow.serve.model import ServedModel
from dlflow.serve.openapi import with_predict_operations
from dlflow.serve.predict_endpoint import ENDPOINT, INLINE_PARSE_BYTES, PREDICT_PATHS, PredictEndpoint
from dlflow.serve.predictor import PREDICT_PATH
from dlflow.serve.predlog import PredictionLog
from dlflow.serve.raw import OUTPUT_FORMATS, raw_metadata, raw_predictions
from dlflow.serve.response import model_metadata, model_status, predictions

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000


def create_app(
    served: ServedModel,
    *,
    max_batch_size: int = 64,
    batch_timeout: float = 0.0,
    metrics: ServerMetrics | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    token: str | None = None,
    hosts: frozenset[str] | None = None,
    output: str = "decoded",
    prediction_log: PredictionLog | None = None,
) -> FastAPI:
    """A FastAPI app serving `served` over TensorFlow Serving's REST API.

    Args:
        served: the loaded model.
        max_batch_size: the most examples one model call gathers from concurrent requests.
        batch_timeout: seconds a batch waits for requests already arriving (see `MicroBatcher`).
        metrics: where to count requests and batches (a fresh `ServerMetrics` by default).
        max_body_bytes: the largest request body accepted (larger: 413).
        max_rows: the most examples one request may send (more: 413).
        token: when set, requests must carry `Authorization: Bearer <token>` (else 401).
        hosts: the Host names answered (others: 400); None answers any (see `guard.allowed_hosts`).
        output: "decoded" (labels, confidences) or "raw" (the output tensors, as TF Serving answers).
        prediction_log: where answered requests are sampled to (`dlflow.serve.predlog`); its
            request id comes back in the `X-Request-Id` header.
    """
    if output not in OUTPUT_FORMATS:
        raise ValueError(f"output must be one of {OUTPUT_FORMATS}, received {output!r}")
    metrics = _model_metrics(served, metrics or ServerMetrics())
    batcher = _batcher(served, metrics, max_batch_size=max_batch_size, batch_timeout=batch_timeout)
    app = _ServingApp(
        title=f"dlflow serve: {served.name}",
        lifespan=_lifespan(batcher, prediction_log),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(  # added first: innermost, behind the guard and the metrics
        PredictEndpoint,
        served=served,
        batcher=batcher,
        answer=raw_predictions if output == "raw" else predictions,
        max_rows=max_rows,
        prediction_log=prediction_log,
    )
    app.add_middleware(RequestGuard, max_body_bytes=max_body_bytes, token=token, hosts=hosts)
    app.add_middleware(_Instrumented, metrics=metrics)  # added last: outermost, so refusals are counted
    app.openapi = with_predict_operations(app.openapi, served.inputs, PREDICT_PATHS)
    _add_error_handlers(app)
    _add_info_routes(app, served, metrics, serving=_serving_info(served, batcher), output=output)
    app.state.served = served
    app.state.metrics = metrics
    app.state.batcher = batcher
    return app


class _ServingApp(FastAPI):
    """FastAPI, with predict requests handed straight to dlflow's own layers.

    FastAPI runs five layers around its user middleware (its telemetry check and middleware, the
    body limit, Starlette's `__call__` and error middleware): about 25 µs a request on this
    project's 2-core machine, 6% of what a served request costs. A predict request skips them: it
    goes to the metrics middleware of FastAPI's own built stack, then the guard and the predict
    endpoint, the same instances every other request passes. A bug there still answers 500 (from
    uvicorn instead of Starlette). Everything else, lifespan included, goes through FastAPI; so do
    predict requests when OpenTelemetry is configured at the first request (FastAPI's native
    telemetry traces them).
    """

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            own = self._own_layers
            if own is not None and own[1].matches(scope):
                await own[0](scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    @functools.cached_property
    def _own_layers(self) -> tuple[Any, Any] | None:
        """(the metrics middleware, the predict endpoint) of FastAPI's built stack, found at the first
        request; None when OpenTelemetry is configured (or the stack has no such layers)."""
        telemetry = getattr(self, "_native_telemetry", None)
        if telemetry is not None and telemetry.enabled():
            return None
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        outer, node = None, self.middleware_stack
        while node is not None and not isinstance(node, PredictEndpoint):
            outer = node if isinstance(node, _Instrumented) else outer
            node = getattr(node, "app", None)
        return (outer, node) if outer is not None and node is not None else None


def _model_metrics(served: ServedModel, metrics: ServerMetrics) -> ServerMetrics:
    """`metrics` with the model's load time and identity set."""
    metrics.load_seconds.labels(model=served.name).set(served.load_seconds)
    metrics.model_info.labels(model=served.name, version=served.version, run=served.run).set(1)
    return metrics


def _serving_info(served: ServedModel, batcher: MicroBatcher) -> dict[str, Any]:
    """How the server runs the model, for /metadata's `dlflow.serving`."""
    info = {
        "runtime": served.runtime,
        "predict": served.predict_path or PREDICT_PATH,
        "http": stack.describe(),
        "json": jsonio.CODEC,
        "endpoint": ENDPOINT,
        "max_batch_size": batcher.max_batch_size,
        "batch_timeout_ms": batcher.timeout * 1000,
        "parse_in_thread_above_bytes": INLINE_PARSE_BYTES,
        "model_call": f"on the event loop while calls average under {batcher.inline_below * 1000:g} ms, "
        f"else in a worker thread",
    }
    if served.parity:
        info["parity"] = served.parity
    return info


def _batcher(served: ServedModel, metrics: ServerMetrics, *, max_batch_size: int, batch_timeout: float) -> MicroBatcher:
    """The micro-batcher over the model's predict, counting each batch in `metrics`."""

    def record_batch(rows: int, requests: int, seconds: float) -> None:
        metrics.batch_size.observe(rows)
        metrics.batch_requests.observe(requests)
        metrics.batch_seconds.observe(seconds)

    return MicroBatcher(served.predict, max_batch_size=max_batch_size, timeout=batch_timeout, on_batch=record_batch)


def _lifespan(batcher: MicroBatcher, prediction_log: PredictionLog | None) -> Any:
    """The app's start-up and shut-down: the batcher's task and the prediction log's writer."""

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        await batcher.start()
        if prediction_log is not None:
            prediction_log.start()
        try:
            yield
        finally:
            await batcher.stop()
            if prediction_log is not None:
                await run_in_threadpool(prediction_log.stop)

    return lifespan


def _add_error_handlers(app: FastAPI) -> None:
    """Errors as TF Serving answers them: `{"error": message}` with the status."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError):
        return _json({"error": error.message}, error.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        return _json({"error": f"{error.detail}: {request.method} {request.url.path}"}, error.status_code)


def _add_info_routes(
    app: FastAPI, served: ServedModel, metrics: ServerMetrics, *, serving: dict[str, Any], output: str
) -> None:
    """Model status and metadata (TF Serving's), other verbs refused, and Prometheus metrics."""

    @app.post("/v1/models/{name}:{verb}", name="other")
    @app.post("/v1/models/{name}/versions/{version}:{verb}", name="other")
    async def other_verb(name: str, verb: str, version: str | None = None):
        check_model(served, name, version)
        raise ApiError(404, f'unknown method ":{verb}"; this server answers ":predict"')

    @app.get("/v1/models/{name}", name="status")
    @app.get("/v1/models/{name}/versions/{version}", name="status")
    async def status(name: str, version: str | None = None):
        _refuse_verb(name)
        check_model(served, name, version)
        return _json(model_status(served))

    @app.get("/v1/models/{name}/metadata", name="metadata")
    @app.get("/v1/models/{name}/versions/{version}/metadata", name="metadata")
    async def metadata(name: str, version: str | None = None):
        check_model(served, name, version)
        described = model_metadata(served, serving)
        return _json(raw_metadata(described, served) if output == "raw" else described)

    @app.get("/metrics", name="metrics")
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE)


def _refuse_verb(name: str) -> None:
    """`GET /v1/models/<name>:predict` reaches the status route with the verb in the name."""
    _, colon, verb = name.partition(":")
    if colon:
        raise ApiError(405, f'":{verb}" takes POST, received GET')


def _json(data: Any, status: int = 200) -> Response:
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")


class _Instrumented:
    """ASGI middleware: counts each request by endpoint (its route's name) and status code, and times it."""

    def __init__(self, app: Any, metrics: ServerMetrics):
        self.app = app
        self.metrics = metrics
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}  # labelled children, looked up once

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")  # set by the router on the scope it was given
            requests, latency = self._children(getattr(route, "name", None) or "other", status)
            requests.inc()
            latency.observe(time.perf_counter() - started)

    def _children(self, endpoint: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of one endpoint and status."""
        key = (endpoint, status)
        if key not in self._series:
            self._series[key] = (
                self.metrics.requests.labels(endpoint=endpoint, code=str(status)),
                self.metrics.latency.labels(endpoint=endpoint),
            )
        return self._series[key]
