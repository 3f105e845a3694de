"""One writer per run directory: an advisory lock that dies with the process holding it.

```python
with run_lock(run):          # UsageError when another process holds it, naming that process
    ...                      # train, resume, evaluate or export the run
```

The lock is `fcntl.flock` on `<run>/run.lock`: the kernel releases it when the holder exits, even
killed with SIGKILL, so a crash never leaves a run locked. The file keeps the holder's pid,
command line and start time, for the message the next process gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from typing import Iterator

from dlflow.errors import UsageError
from dlflow.runs.layout import RunDir
from dlflow.runs.manifest import now_iso

LOCK_FILE = "run.lock"


@contextlib.contextmanager
def run_lock(run: RunDir) -> Iterator[None]:
    """Hold the run directory's lock for the block; refuse at once if another process holds it."""
    path = run.path / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot open the run's lock file ({exc.strerror}); the run directory must be writable"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(
                f"{run.path} is in use by {_holder(fd)}; wait until it ends, or stop it "
                f"(the lock goes with the process)"
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(["dlflow", *sys.argv[1:]]),
            "started": now_iso(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    """`pid 123 (dlflow train ...) since 2026-11-30T17:00:00+00:00`, from the lock file."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder.get("pid"):
        return "another process"
    return (
        f"pid {holder['pid']} on {holder.get('host', '?')} ({holder.get('command', '?')}) "
        f"since {holder.get('started', '?')}"
    )
