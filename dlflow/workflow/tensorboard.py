"""`dlflow tensorboard`: TensorBoard over the runs, started and checked before its URL is given.

The port is checked first (a port another server holds is an error naming it, never that
server's URL), then TensorBoard is started and its URL is returned only once it answers HTTP.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dlflow.errors import UsageError, WorkFailed

START_TIMEOUT_S = 180  # TensorBoard loads TensorFlow first: tens of seconds on a busy machine


@dataclass
class RunningTensorBoard:
    """A TensorBoard process that answers at `url`."""

    process: subprocess.Popen
    url: str

    def wait(self) -> int:
        """Until TensorBoard exits (Ctrl-C or SIGTERM stops it, and TensorBoard with it); returns its exit status."""
        import signal

        def interrupt(*_: object) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, interrupt)
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            self.stop()
            return 0
        finally:
            signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        """Stop TensorBoard and its process group (SIGTERM, then SIGKILL after 10 s)."""
        import os
        import signal

        def signal_group(signum: int) -> None:
            try:
                os.killpg(self.process.pid, signum)  # its own session: the group id is its pid
            except ProcessLookupError:
                pass

        signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            signal_group(signal.SIGKILL)
            self.process.wait()


def start_tensorboard(
    folder: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 6006,
    verbose: bool = False,
    timeout: float = START_TIMEOUT_S,
    log: Callable[[str], None] | None = None,
) -> RunningTensorBoard:
    """Start TensorBoard over `folder` and return once it serves.

    Args:
        verbose: let TensorBoard's own output through (else kept for the error message).
        timeout: seconds to wait for its first HTTP answer.
        log: told when TensorBoard starts.

    Raises:
        UsageError: `folder` does not exist.
        WorkFailed: the port is taken, TensorBoard exited early, or it did not answer in `timeout` s.
    """
    if not folder.exists():
        raise UsageError(f"no such folder '{folder}'; train a run first")
    port = check_port_free(host, port)
    url = f"http://{_url_host(host)}:{port}/"
    if log is not None:
        log(f"starting TensorBoard over {folder} on {host}:{port}")
    log = tempfile.TemporaryFile(mode="w+")
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(folder), "--host", host, "--port", str(port)]
    # Its own process group: stopping it stops its data server too (a child that holds our pipes otherwise).
    process = subprocess.Popen(
        command, stdout=None if verbose else log, stderr=None if verbose else log, start_new_session=True
    )
    running = RunningTensorBoard(process, url)
    deadline = time.monotonic() + timeout
    try:
        while not _answers(url):
            if process.poll() is not None:
                raise WorkFailed(
                    f"TensorBoard exited (status {process.returncode}) before serving on {host}:{port}{_last_line(log)}"
                )
            if time.monotonic() > deadline:
                raise WorkFailed(f"TensorBoard did not answer on {host}:{port} within {timeout:.0f}s")
            time.sleep(0.25)
    except BaseException:
        running.stop()
        raise
    return running


def check_port_free(host: str, port: int) -> int:
    """The port, once checked free (port 0: a free port picked now).

    Raises:
        WorkFailed: naming the port, when something already listens on it (or it cannot be bound).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind((host, port))
        except OSError as e:
            why = "it is already in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
            raise WorkFailed(f"cannot start TensorBoard on {host}:{port}: {why}; pick another with --port") from None
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _url_host(host: str) -> str:
    """The address to reach a server bound to `host` (a wildcard bind is reached on loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _last_line(log) -> str:
    try:
        log.seek(0)
        lines = [line.strip() for line in log.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return f": {lines[-1]}" if lines else ""
