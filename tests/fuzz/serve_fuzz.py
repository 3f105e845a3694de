"""Serve API fuzzer: schemathesis against `dlflow serve`'s app, driven by the app's own OpenAPI document.

    python -m tests.fuzz.serve_fuzz --run RUN --examples 100     # prints one JSON line of counts

The app (`dlflow.serve.app.create_app` on a trained run) is called in-process through ASGI. Every
operation of `app.openapi()` (status, metadata, predict with the served model's request schema,
other verbs, /metrics) gets `--examples` generated requests, valid and invalid (schemathesis's
positive and negative modes), plus a few hostile ones of our own (NaN, deep nesting, huge numbers).
Every answer must be below 500, and every 4xx a JSON object with an "error" string.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import generated_only

HOSTILE = [
    b'{"instances": [NaN]}',
    b'{"instances": [Infinity]}',
    b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"instances": [1e999]}',
    b'{"inputs": {"x": "y"}}',
    b'{"instances": "a"}',
    b'{"instances": []}',
    b'{"instances": [null]}',
    b"\xff\xfe",
    b"",
    b"[]",
    b'{"instances": [[' + b"1," * 20000 + b"1]]}",
    b'{"instances": [{"a": {"b": {"c": 1}}}]}',
    b'{"signature_name": 3}',
    b'{"instances": [true, false]}',
]


class ServeCounts:
    """How the answers ended: 2xx, 4xx as JSON, 4xx not JSON, 5xx, and client-side exceptions."""

    def __init__(self):
        self.tried = self.ok = self.refused_json = self.refused_not_json = self.server_errors = self.exceptions = 0
        self.by_operation: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}

    def note(self, kind: str, sample: str) -> None:
        if len(self.examples.setdefault(kind, [])) < 5:
            self.examples[kind].append(sample[:600])

    def answer(self, label: str, status: int, headers: Any, body: bytes) -> None:
        self.tried += 1
        self.by_operation[label] = self.by_operation.get(label, 0) + 1
        if status >= 500:
            self.server_errors += 1
            self.note("server_errors", f"{label}: {status} {body[:300]!r}")
        elif status >= 400:
            if _json_error(headers, body):
                self.refused_json += 1
            else:
                self.refused_not_json += 1
                self.note("refused_not_json", f"{label}: {status} {_header(headers, 'content-type')} {body[:200]!r}")
        else:
            self.ok += 1

    def summary(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "answered_2xx": self.ok,
            "refused_4xx_json": self.refused_json,
            "refused_4xx_not_json": self.refused_not_json,
            "server_errors_5xx": self.server_errors,
            "exceptions": self.exceptions,
            "by_operation": self.by_operation,
            "examples": self.examples,
        }


def _header(headers: Any, name: str) -> str:
    value = headers.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


def _json_error(headers: Any, body: bytes) -> bool:
    if not _header(headers, "content-type").startswith("application/json"):
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and isinstance(data.get("error"), str)


def serve_app(run: Path) -> Any:
    """The app `dlflow serve RUN` would serve (default limits, Host checked as when bound to loopback)."""
    from dlflow.serve.app import create_app
    from dlflow.serve.guard import allowed_hosts
    from dlflow.workflow.serving import load_served_model

    served = load_served_model(str(run), runs_root=run.parents[1])
    from schemathesis.python import asgi

    return create_app(served, hosts=allowed_hosts("127.0.0.1") | {asgi.HOST})  # schemathesis sends Host: testserver


def fuzz(run: Path, examples: int) -> ServeCounts:
    """Every operation of the app's OpenAPI document, `examples` requests each, then the hostile bodies."""
    import schemathesis
    from schemathesis.generation import GenerationMode

    app = serve_app(run)
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    counts = ServeCounts()
    for result in schema.get_all_operations():
        _operation(app, result.ok(), examples, counts)
    _hostile(app, counts)
    return counts


def _operation(app: Any, operation: Any, examples: int, counts: ServeCounts) -> None:
    """`examples` generated requests to one operation; half of them name the served model and version."""
    label = f"{operation.method.upper()} {operation.path}"

    @generated_only(examples)
    @given(operation.as_strategy(), st.booleans())
    def one(case: Any, served_name: bool) -> None:
        if served_name and case.path_parameters:  # half the requests reach the model's own routes
            case.path_parameters = {
                **case.path_parameters,
                "name": app.state.served.name,
                **({"version": "1"} if "version" in case.path_parameters else {}),
            }
        try:
            response = case.call()
        except Exception as exc:  # noqa: BLE001 - the client failing is a finding too
            counts.exceptions += 1
            counts.note("exceptions", f"{label}: {type(exc).__name__}: {exc}")
            return
        counts.answer(label, response.status_code, response.headers, response.content)

    one()


def _hostile(app: Any, counts: ServeCounts) -> None:
    from schemathesis.python import asgi

    name = app.state.served.name
    with asgi.get_client(app) as client:
        for body in HOSTILE:
            response = client.post(
                f"http://{asgi.HOST}/v1/models/{name}:predict", data=body, headers={"content-type": "application/json"}
            )
            counts.answer("POST predict (hostile)", response.status_code, response.headers, response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="a trained run directory to serve")
    parser.add_argument("--examples", type=int, default=100, help="generated requests per operation")
    args = parser.parse_args()
    from dlflow.cli.output import quiet_tensorflow

    quiet_tensorflow(False)
    print(json.dumps(fuzz(Path(args.run).resolve(), args.examples).summary()))


if __name__ == "__main__":
    main()
