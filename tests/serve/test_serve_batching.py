"""The micro-batcher: concurrent requests share one model call and each gets its own rows back."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from dlflow.serve.batching import MicroBatcher


class Recorder:
    """A fake model: doubles its input, remembers each batch's size, fails on negative inputs."""

    def __init__(self, delay: float = 0.0):
        self.batches: list[int] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, batch):
        x = batch["x"]
        if (x < 0).any():
            raise ValueError("negative input")
        if self.delay:
            threading.Event().wait(self.delay)
        with self.lock:
            self.batches.append(len(x))
        return {"y": x * 2}


def run(coroutine):
    return asyncio.run(coroutine)


async def _submit_all(batcher, requests):
    await batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit({"x": r}, len(r)) for r in requests), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_call_and_get_their_own_rows():
    model = Recorder()
    requests = [np.full((n, 1), i, dtype="float32") for i, n in enumerate([1, 3, 2, 1])]
    results = run(_submit_all(MicroBatcher(model, max_batch_size=64, timeout=0.05), requests))
    assert model.batches == [7]
    for request, result in zip(requests, results):
        np.testing.assert_array_equal(result["y"], request * 2)


def test_batches_stop_at_max_batch_size_and_a_large_request_runs_whole():
    model = Recorder()
    requests = [np.ones((n, 1), dtype="float32") for n in [2, 2, 2, 10, 1]]
    results = run(_submit_all(MicroBatcher(model, max_batch_size=4, timeout=0.05), requests))
    assert sum(model.batches) == 17 and max(model.batches) == 10
    assert all(b <= 4 for b in model.batches if b != 10)
    assert [len(r["y"]) for r in results] == [2, 2, 2, 10, 1]


def test_a_failing_request_fails_alone():
    model = Recorder()
    requests = [np.ones((1, 1)), -np.ones((1, 1)), np.ones((2, 1))]
    results = run(_submit_all(MicroBatcher(model, timeout=0.05), requests))
    assert isinstance(results[1], ValueError)
    np.testing.assert_array_equal(results[0]["y"], [[2.0]])
    np.testing.assert_array_equal(results[2]["y"], [[2.0], [2.0]])


def test_requests_arriving_while_the_model_runs_form_the_next_batch():
    model = Recorder(delay=0.05)

    async def scenario():
        batcher = MicroBatcher(model, timeout=0.0)
        await batcher.start()
        first = asyncio.ensure_future(batcher.submit({"x": np.ones((1, 1))}, 1))
        await asyncio.sleep(0.01)  # the first call is running now
        rest = [batcher.submit({"x": np.ones((1, 1))}, 1) for _ in range(5)]
        await asyncio.gather(first, *rest)
        await batcher.stop()

    run(scenario())
    assert model.batches == [1, 5]


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="max_batch_size"):
        MicroBatcher(Recorder(), max_batch_size=0)


def test_a_lone_request_does_not_wait_but_an_announced_one_is_waited_for():
    model = Recorder()

    async def scenario():
        batcher = MicroBatcher(model, timeout=1.0)
        await batcher.start()
        started = asyncio.get_running_loop().time()
        await batcher.submit({"x": np.ones((1, 1))}, 1)  # nothing else on the way: no waiting
        alone = asyncio.get_running_loop().time() - started

        async def late_request():
            with batcher.incoming() as slot:  # announced now, its inputs ready 50 ms later
                await asyncio.sleep(0.05)
                return await slot.submit({"x": np.ones((2, 1))}, 2)

        late = asyncio.ensure_future(late_request())
        await asyncio.sleep(0)  # the late request announces itself
        await asyncio.gather(batcher.submit({"x": np.ones((1, 1))}, 1), late)
        with batcher.incoming():  # announced, then withdrawn (a bad request): nothing waits for it
            pass
        started = asyncio.get_running_loop().time()
        await batcher.submit({"x": np.ones((1, 1))}, 1)
        after_withdrawal = asyncio.get_running_loop().time() - started
        await batcher.stop()
        return alone, after_withdrawal

    alone, after_withdrawal = run(scenario())
    assert alone < 0.5 and after_withdrawal < 0.5
    assert model.batches == [1, 3, 1]
