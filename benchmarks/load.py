"""A light HTTP load generator for benchmarks/serve.py: threads, one keep-alive socket each.

Each of `clients` threads holds one blocking keep-alive connection and sends requests that were
encoded once, up front (request line, headers and body as bytes); it reads each response by
its Content-Length and keeps the status and the body. Per request the client does a `sendall`,
a few `recv`s and a header scan: tens of microseconds, mostly outside the GIL, so the servers
get the machine's CPU (asyncio httpx spent about as much CPU per request as the server did).

The load runs either for a duration, or for a fixed total of requests (every request counted:
an error is a non-200 answer, a broken connection or a timeout; a broken connection is
reopened and the loop goes on).

Example:

```python
bodies = [json.dumps({"instances": [row]}).encode() for row in rows]
result = run_load("http://127.0.0.1:8501/v1/models/m:predict", bodies, clients=8, requests=10_000)
result.latencies, result.errors, result.seconds
```
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT_S = 30.0


@dataclass
class LoadResult:
    """What one load run measured.

    Args:
        latencies: seconds per answered request (errors included), in completion order per client.
        seconds: wall time from the first request sent to the last answer.
        errors: requests not answered 200 (or with no answer at all).
        answers: `{body index: response body}` for the first answer to each distinct body
            (only with `keep_answers`).
    """

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    answers: dict[int, bytes] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies)


def encode_requests(url: str, bodies: list[bytes]) -> list[bytes]:
    """Each body as a whole HTTP/1.1 POST to `url` (keep-alive, JSON), ready to send."""
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Connection: keep-alive\r\n"
    )
    return [f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body for body in bodies]


class _Connection:
    """One keep-alive connection: send a request, read its response by Content-Length."""

    def __init__(self, address: tuple[str, int]):
        self.address = address
        self.sock: socket.socket | None = None
        self.buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of one request; reconnects first when the last one broke."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=TIMEOUT_S)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in lines[1:] if line[:15].lower() == b"content-length:")
        while len(self.buffer) < length:
            self._receive()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if any(line.lower() == b"connection: close" for line in lines[1:]):
            self.close()
        return status, body

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def run_load(
    url: str,
    bodies: list[bytes],
    *,
    clients: int = 8,
    seconds: float | None = None,
    requests: int | None = None,
    keep_answers: bool = False,
) -> LoadResult:
    """Send `bodies` (in turn) from `clients` threads, for `seconds` or for `requests` in all.

    Args:
        url: the endpoint (`http://host:port/path`).
        bodies: the request bodies; request i sends `bodies[i % len(bodies)]`.
        clients: concurrent connections, one thread each.
        seconds: run this long (each client finishes the request it has in flight).
        requests: or send exactly this many requests in all.
        keep_answers: keep the first response body to each distinct request body.
    """
    if (seconds is None) == (requests is None):
        raise ValueError("give exactly one of seconds or requests")
    parts = urlsplit(url)
    address = (parts.hostname, parts.port or 80)
    encoded = encode_requests(url, bodies)
    numbers = itertools.count()  # next() on a count is atomic under the GIL: each request number once
    result = LoadResult()
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    end = [float("inf")]

    def client() -> None:
        connection = _Connection(address)
        latencies, errors, answers = [], 0, {}
        ready.wait()
        while True:
            i = next(numbers)
            if (requests is not None and i >= requests) or time.perf_counter() >= end[0]:
                break
            sent = time.perf_counter()
            try:
                status, body = connection.exchange(encoded[i % len(encoded)])
            except (OSError, ValueError, StopIteration):
                connection.close()
                status, body = 0, b""
            latencies.append(time.perf_counter() - sent)
            errors += status != 200
            if keep_answers and status == 200:
                answers.setdefault(i % len(encoded), body)
        connection.close()
        with lock:
            result.latencies += latencies
            result.errors += errors
            for key, value in answers.items():
                result.answers.setdefault(key, value)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    if seconds is not None:
        end[0] = started + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result
