"""A micro-batcher: concurrent requests gathered into one model call, results split back.

Each request's inputs (a dict of arrays with the same number of rows) wait in a queue. A single
asyncio task takes every waiting request, up to `max_batch_size` rows, concatenates them, runs
the model in a worker thread (so the event loop keeps accepting and parsing requests meanwhile)
and hands each request its own rows of the outputs. A model whose calls take less than
`inline_below` seconds (a running average; onnxruntime on a small model: ~0.05 ms) is called
on the event loop itself: the hop to the worker thread and back (two thread wake-ups and a
GIL hand-over) cost more than the call. The requests that arrive while the model
runs form the next batch: under load, batches grow by themselves; a lone request never waits.

With `timeout` > 0, a batch also waits up to that long after its first request arrived for
requests known to be on their way (announced with `incoming()`, their bodies still being read
and parsed). That helps when each model call has a large fixed cost (a GPU); on CPU with a
small model, the model idling meanwhile cost a quarter of the throughput (benchmarks/serve.py),
so the default is 0.

Example:

```python
batcher = MicroBatcher(predict, max_batch_size=64, timeout=0.0)
await batcher.start()
with batcher.incoming() as slot:           # announced: a batch being gathered waits for it
    inputs = parse(await request.body())
    outputs = await slot.submit(inputs, rows=len(inputs["image"]))
await batcher.stop()
```
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Arrays = dict[str, np.ndarray]
INLINE_BELOW_S = 0.001  # model calls faster than this (on average) run on the event loop


@dataclass
class _Pending:
    inputs: Arrays
    rows: int
    future: asyncio.Future
    arrived: float = field(default=0.0)


class MicroBatcher:
    """Gather concurrent requests into batches for one model call each.

    Args:
        predict: the model call, `{input name: array} -> {output name: array}`; run in a
            worker thread, one call at a time.
        max_batch_size: the most rows one call gathers (a larger request runs alone, whole).
        timeout: seconds the first request of a batch waits for announced requests to join it
            (0: none; the batch is what queued while the model was busy).
        on_batch: called after each model call with (rows, requests, seconds), for metrics.
        inline_below: model calls faster than this, on average, run on the event loop (0: never).
    """

    def __init__(
        self,
        predict: Callable[[Arrays], Arrays],
        *,
        max_batch_size: int = 64,
        timeout: float = 0.0,
        on_batch: Callable[[int, int, float], None] | None = None,
        inline_below: float = INLINE_BELOW_S,
    ):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, received {max_batch_size}")
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.timeout = max(0.0, timeout)
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._held: _Pending | None = None  # a request that did not fit the last batch
        self._task: asyncio.Task | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._incoming = 0  # requests announced but not yet submitted
        self.inline_below = inline_below
        self._call_seconds = float("inf")  # running average of the model call; unknown: a worker thread

    async def start(self) -> None:
        """Start the batching task on the running event loop."""
        self._queue = asyncio.Queue()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dlflow-model")
        self._task = asyncio.get_running_loop().create_task(self._run_forever(), name="dlflow-batcher")

    async def stop(self) -> None:
        """Stop batching; requests still waiting fail with RuntimeError."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        waiting = [self._held] if self._held else []
        while self._queue is not None and not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        for pending in waiting:
            _fail(pending.future, RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    def incoming(self) -> "_Slot":
        """Announce a request whose inputs are still being read; submit them with the slot's `submit`.

        Use as a context manager: leaving it without submitting (a bad request) withdraws the
        announcement.
        """
        return _Slot(self)

    async def submit(self, inputs: Arrays, rows: int) -> Arrays:
        """Queue one request's inputs; returns its rows of the model's outputs."""
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        loop = asyncio.get_running_loop()
        pending = _Pending(inputs, rows, loop.create_future(), loop.time())
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run_forever(self) -> None:
        while True:
            batch = await self._gather()
            await self._run(batch)

    async def _gather(self) -> list[_Pending]:
        """The next batch: the first waiting request plus whatever joins it in time."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        if self._held is not None:
            first, self._held = self._held, None
        else:
            first = await self._queue.get()
        batch, rows = [first], first.rows
        deadline = first.arrived + self.timeout
        while rows < self.max_batch_size:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0 or self._incoming == 0:  # no one else is on the way
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            else:
                item = self._queue.get_nowait()
            if rows + item.rows > self.max_batch_size:
                self._held = item  # starts the next batch
                break
            batch.append(item)
            rows += item.rows
        return batch

    async def _run(self, batch: list[_Pending]) -> None:
        """One model call for the batch; on failure, each request alone so only bad ones fail."""
        live = [p for p in batch if not p.future.done()]  # skip requests whose client went away
        if not live:
            return
        try:
            outputs = await self._call(_concatenate([p.inputs for p in live]), sum(p.rows for p in live), len(live))
        except Exception as error:  # noqa: BLE001 - handed to the requests that caused it
            if len(live) == 1:
                _fail(live[0].future, error)
                return
            for pending in live:
                await self._run([pending])
            return
        start = 0
        for pending in live:
            part = {name: array[start : start + pending.rows] for name, array in outputs.items()}
            start += pending.rows
            if not pending.future.done():
                pending.future.set_result(part)

    async def _call(self, inputs: Arrays, rows: int, requests: int) -> Arrays:
        loop = asyncio.get_running_loop()
        started = loop.time()
        if self._call_seconds < self.inline_below:
            outputs = self._timed(inputs)
        else:
            outputs = await loop.run_in_executor(self._executor, self._timed, inputs)
        if self.on_batch is not None:
            self.on_batch(rows, requests, loop.time() - started)
        return outputs

    def _timed(self, inputs: Arrays) -> Arrays:
        """The model call, timed into the running average that decides where the next one runs."""
        started = time.perf_counter()
        outputs = self.predict(inputs)
        seconds = time.perf_counter() - started
        self._call_seconds = seconds if self._call_seconds == float("inf") else 0.8 * self._call_seconds + 0.2 * seconds
        return outputs


class _Slot:
    """One announced request (see `MicroBatcher.incoming`)."""

    def __init__(self, batcher: MicroBatcher):
        self._batcher = batcher
        self._announced = False

    def __enter__(self) -> "_Slot":
        self._batcher._incoming += 1
        self._announced = True
        return self

    def __exit__(self, *exc_info) -> None:
        self._withdraw()

    async def submit(self, inputs: Arrays, rows: int) -> Arrays:
        """Submit the announced request's inputs; returns its rows of the outputs."""
        self._withdraw()
        return await self._batcher.submit(inputs, rows)

    def _withdraw(self) -> None:
        if self._announced:
            self._announced = False
            self._batcher._incoming -= 1


def _concatenate(parts: list[Arrays]) -> Arrays:
    if len(parts) == 1:
        return parts[0]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def _fail(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
