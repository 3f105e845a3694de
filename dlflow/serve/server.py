"""Running the app with uvicorn: bind first (clear errors, port 0 works), report when ready.

SIGINT (Ctrl-C) and SIGTERM shut the server down gracefully (requests in flight are answered)
and `run_server` then returns normally, so stopping a server is not an error.

Before serving, what start-up allocated (TensorFlow, Keras, the model: about a million objects)
is frozen out of the cyclic garbage collector's view (`gc.freeze`): otherwise each full
collection walks all of it while every request waits (tens of milliseconds on the p99).
"""

from __future__ import annotations

import contextlib
import gc
import signal
import socket
import threading
from typing import Any, Callable, Iterator

import uvicorn

from dlflow.errors import UsageError
from dlflow.serve.stack import HTTP, LOOP

BACKLOG = 2048
GRACEFUL_SHUTDOWN_S = 10


def run_server(app: Any, sock: socket.socket, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve `app` on a listening socket until SIGINT or SIGTERM; closes the socket at the end.

    Args:
        app: an ASGI app (`dlflow.serve.app.create_app`).
        sock: a listening socket from `listen` (bound before the model loads, so a busy port
            fails fast; connections made meanwhile wait in its backlog).
        on_ready: called with the base URL (e.g. `http://127.0.0.1:8501`) once the server
            accepts connections.
    """
    host, port = sock.getsockname()[:2]
    url = f"http://{_url_host(host)}:{port}"
    config = uvicorn.Config(
        app,
        http=HTTP,
        loop=LOOP,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _Server(config, on_ready=(lambda: on_ready(url)) if on_ready else None)
    gc.collect()
    gc.freeze()  # start-up's objects stay; full collections walk only what serving allocates
    with sock:
        server.run(sockets=[sock])


def listen(host: str = "127.0.0.1", port: int = 8501) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6, as the host resolves).

    Args:
        host: the address to listen on; 127.0.0.1 keeps the server local to this machine.
        port: the TCP port; 0 picks a free one.

    Raises:
        UsageError: the address cannot be listened on (port in use, unknown host).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host}:{port}: unknown host ({exc.strerror})") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            + ("; pick another --port" if exc.errno in (98, 48) else "")
        ) from exc
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _Server(uvicorn.Server):
    """uvicorn's server, telling when it is ready and ending quietly on SIGINT or SIGTERM."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None):
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal once shut down (a KeyboardInterrupt, or death by SIGTERM);
        # for a server, being stopped is the normal end, so it is not re-raised.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
