"""The server's front door: Host check, bearer token and body-size limit, before any route runs.

An ASGI middleware, so a refused request costs no JSON parsing and no model time:

| check | answer |
|---|---|
| `Host` not one of the allowed names (when bound to loopback: DNS rebinding) | 400 |
| a token is set and `Authorization: Bearer <token>` is missing or wrong | 401 |
| the body is larger than the limit (by `Content-Length`, or as it arrives) | 413 |

Every refusal is JSON, `{"error": "..."}`, like the app's own errors.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def allowed_hosts(bind_host: str) -> frozenset[str] | None:
    """The Host names a server bound to `bind_host` answers; None (any) when it is not loopback-only.

    A server on 127.0.0.1 is reachable only from this machine, but a web page can still send it
    requests through a DNS name that resolves to 127.0.0.1 (DNS rebinding); those carry the
    page's own Host, so a loopback server answers only to its loopback names.
    """
    host = bind_host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.startswith("127."):
        return LOOPBACK_NAMES | {host}
    return None


class RequestGuard:
    """ASGI middleware refusing requests with a foreign Host, without the token, or too large.

    Args:
        app: the ASGI app behind the guard.
        max_body_bytes: the largest request body accepted.
        token: when set, every request must carry `Authorization: Bearer <token>`.
        hosts: the accepted Host names (without port); None accepts any.
    """

    def __init__(self, app: Any, *, max_body_bytes: int, token: str | None = None, hosts: frozenset[str] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.token = token.encode() if token else None
        self.hosts = hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value for key, value in scope.get("headers", [])}
        refusal = self._refusal(headers)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        body = await self._read_body(receive)
        if body is None:
            await _answer(
                send,
                413,
                f"request body larger than {self.max_body_bytes} bytes (serve --max-body-mb raises the limit)",
            )
            return
        await self.app(scope, _replay(body, receive), send)

    def _refusal(self, headers: dict[str, bytes]) -> tuple[int, str, dict[str, str]] | None:
        if self.hosts is not None:
            host = _host_name(headers.get("host", b"").decode("latin-1"))
            if host not in self.hosts:
                return (
                    400,
                    f"Host '{host}' is not served here (this server answers {', '.join(sorted(self.hosts))})",
                    {},
                )
        if self.token is not None:
            given = headers.get("authorization", b"")
            scheme, _, value = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(value.strip(), self.token):
                return (
                    401,
                    "missing or wrong bearer token (send 'Authorization: Bearer <token>')",
                    {"www-authenticate": "Bearer"},
                )
        declared = headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                return 400, "Content-Length is not a number", {}
            if size > self.max_body_bytes:
                return (
                    413,
                    (
                        f"request body of {size} bytes is larger than {self.max_body_bytes} bytes "
                        f"(serve --max-body-mb raises the limit)"
                    ),
                    {},
                )
        return None

    async def _read_body(self, receive: Any) -> list[dict] | None:
        """The request's body messages, or None once they add up past the limit."""
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return messages


def _replay(messages: list[dict], receive: Any) -> Any:
    """A `receive` that hands the app the body already read, then the server's own messages."""
    queue = list(messages)

    async def replay() -> dict:
        return queue.pop(0) if queue else await receive()

    return replay


def _host_name(header: str) -> str:
    """The Host header's name without its port: `[::1]:8501` -> `::1`, `localhost:80` -> `localhost`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


async def _answer(send: Any, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(key.encode(), value.encode()) for key, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
