"""`POST /v1/models/<name>[/versions/<v>]:predict` as an ASGI middleware: the server's hot path.

Predict requests are answered here, inside the guard and the metrics middleware, before
FastAPI's exception middleware, router and request objects; every other request goes on to
FastAPI. Those layers cost about 50 µs a request on this project's 2-core machine (FastAPI's
parameter solving alone about 70 µs more), as much as the model call, the parsing and the
answer together. What a predict request gets is unchanged: the same paths (Starlette's own
path patterns), the same JSON answers and errors, the operation in `app.openapi()`
(`dlflow.serve.openapi`), and a bug still ends in a 500. The app hands predict requests to the
metrics middleware directly, past FastAPI's outer layers too (`dlflow.serve.app._ServingApp`).

Per request: read the body (the guard has already bounded it), parse it (on the event loop up to
`INLINE_PARSE_BYTES`, in a worker thread above), refuse more than `max_rows` rows (413), batch it
with concurrent ones (`dlflow.serve.batching`), answer as JSON, and sample it into the
prediction log (its request id in `X-Request-Id`).
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path

from dlflow.serve import jsonio
from dlflow.serve.api_errors import ApiError, check_model
from dlflow.serve.batching import MicroBatcher
from dlflow.serve.predlog import PredictionLog
from dlflow.serve.request import RequestError, parse_predict_request

PREDICT_PATHS = ("/v1/models/{name}:predict", "/v1/models/{name}/versions/{version}:predict")
# Bodies up to this size are parsed on the event loop (a one-row request: ~0.03 ms, less than the
# hop to a worker thread and back); larger ones in a worker thread, so the loop keeps serving.
INLINE_PARSE_BYTES = 16 * 1024
ENDPOINT = (  # shown in /metadata
    "ASGI middleware ahead of FastAPI's layers and router (dlflow.serve.predict_endpoint); "
    "through FastAPI's layers when OpenTelemetry is configured"
)
JSON_HEADERS = [(b"content-type", b"application/json")]


class PredictRoute:
    """What the metrics middleware reads of a request's route: its name (`scope["route"].name`)."""

    name = "predict"
    path = PREDICT_PATHS[0]


class PredictEndpoint:
    """ASGI middleware answering predict requests; everything else goes to `app`.

    Args:
        app: the app behind (FastAPI: status, metadata, metrics, errors).
        served: the served model (`dlflow.serve.model.ServedModel`).
        batcher: the started micro-batcher over the model.
        answer: `(served, outputs, columnar=) -> JSON-ready answer` (decoded or raw).
        max_rows: the most examples one request may send (more: 413).
        prediction_log: where answered requests are sampled to, or None.
    """

    def __init__(
        self,
        app: Any,
        *,
        served: Any,
        batcher: MicroBatcher,
        answer: Callable[..., Any],
        max_rows: int,
        prediction_log: PredictionLog | None,
    ):
        self.app = app
        self.served, self.batcher, self.answer = served, batcher, answer
        self.max_rows, self.prediction_log = max_rows, prediction_log
        self.patterns = [compile_path(path)[0] for path in PREDICT_PATHS]  # as Starlette would match them

    def matches(self, scope: dict) -> bool:
        """Whether this endpoint answers the request (a POST to a predict path)."""
        return self._match(scope) is not None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        match = self._match(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = PredictRoute
        try:
            status, body, headers = 200, *await self._predict(match.groupdict(), receive)
        except ApiError as error:
            status, body, headers = error.status, jsonio.dumps({"error": error.message}), []
        except _Disconnected:
            return  # the client went away before sending its whole body: no one to answer
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _match(self, scope: dict) -> Any:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path = scope["path"]
        for pattern in self.patterns:
            match = pattern.match(path)
            if match is not None:
                return match
        return None

    async def _predict(self, path: dict[str, str], receive: Any) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """The answer's body and extra headers; ApiError for a request refused."""
        served = self.served
        check_model(served, path["name"], path.get("version"))
        started = time.perf_counter()
        with self.batcher.incoming() as slot:  # a batch being gathered waits for this request
            body = await _read_body(receive)
            parse = functools.partial(parse_predict_request, body, served.inputs, noun=served.input_noun)
            try:  # a small body parses in less time than a hop to a worker thread takes
                parsed = parse() if len(body) <= INLINE_PARSE_BYTES else await run_in_threadpool(parse)
            except RequestError as error:
                raise ApiError(400, str(error)) from None
            if parsed.rows > self.max_rows:
                raise ApiError(
                    413,
                    f"{parsed.rows} rows in one request; at most {self.max_rows} "
                    f"(send several requests, or serve --max-rows)",
                )
            try:
                outputs = await slot.submit(parsed.inputs, parsed.rows)
                answered = jsonio.dumps(self.answer(served, outputs, columnar=parsed.columnar))
            except Exception as error:  # noqa: BLE001 - the model failed on valid input: a server error
                raise ApiError(500, f"prediction failed: {type(error).__name__}: {error}") from None
        if self.prediction_log is None:
            return answered, []
        request_id = self.prediction_log.record(parsed.inputs, outputs, parsed.rows, time.perf_counter() - started)
        return answered, [] if request_id is None else [(b"x-request-id", request_id.encode())]


class _Disconnected(Exception):
    """The client closed the connection before its body arrived."""


async def _read_body(receive: Any) -> bytes:
    """The request's whole body (the guard has already refused one over the size limit)."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)
