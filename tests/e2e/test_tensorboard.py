"""`dlflow tensorboard` gives its URL only once TensorBoard answers, and fails naming a taken port."""

from __future__ import annotations

import signal
import socket
import subprocess
import urllib.request

import pytest

from tests.conftest import DLFLOW, run_cli


def test_a_taken_port_exits_1_naming_it(tmp_path):
    (tmp_path / "runs").mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("tensorboard", "--port", str(port), cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert f"error: cannot start TensorBoard on 127.0.0.1:{port}: it is already in use" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr


@pytest.mark.slow  # passes alone (8 s); under make test's parallel load its SIGINT shutdown has twice outlasted 60 s: make test-all runs it
def test_the_url_is_printed_once_tensorboard_answers(tmp_path):
    (tmp_path / "runs").mkdir()
    process = subprocess.Popen(
        [*DLFLOW, "tensorboard", "--port", "0"], cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = process.stdout.readline().strip()  # dlflow's START_TIMEOUT_S bounds the wait
        assert url.startswith("http://127.0.0.1:"), process.stderr.read()[-2000:] if not url else url
        with urllib.request.urlopen(url, timeout=5) as response:  # no retry: it must already answer
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-2000:]
