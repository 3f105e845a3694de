"""Progress of long passes over the data (scanning a folder's files), reported to whoever listens.

The data layer never prints: a pass calls `report(what, done, total)` as it goes, and the
caller that wants to show it (the CLI, through the workflow) installs a listener for the
duration of a call with `reporting(listener)`. Without a listener `report` does nothing.

>>> seen = []
>>> with reporting(lambda what, done, total: seen.append((done, total))):
...     for i in range(3):
...         report("files scanned", i + 1, 3)
>>> seen[-1]
(3, 3)
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator

Listener = Callable[[str, int, int], None]
EVERY = 64  # items between two reports of a pass (the listener decides how often to show them)

_listener: contextvars.ContextVar[Listener | None] = contextvars.ContextVar("dlflow_progress", default=None)


@contextlib.contextmanager
def reporting(listener: Listener | None) -> Iterator[None]:
    """Send the passes' progress to `listener(what, done, total)` inside this block (None: nowhere)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(what: str, done: int, total: int) -> None:
    """Tell the listener, if any, that `done` of `total` items are through.

    A pass calls it with 0 when it starts, then every EVERY items and at the end."""
    listener = _listener.get()
    if listener is not None:
        listener(what, done, total)
