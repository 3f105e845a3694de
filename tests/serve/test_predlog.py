"""The prediction log on its own: what it keeps per data kind, the queue bound, the size budget."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from dlflow.data.dataset import InputSpec, TargetSpec
from dlflow.data.tasks import decode_predictions
from dlflow.serve.metrics import ServerMetrics
from dlflow.serve.predlog import FILE_GLOB, PredictionLog

IMAGE = InputSpec("image", (8, 8, 1), "float32", "image", scale=1 / 16)
TEXT = InputSpec("text", (), "string", "text")
LABEL = TargetSpec("label", "multiclass", ("a", "b", "c"), ())


def read(folder) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in sorted(folder.glob("predictions-*.parquet"))], ignore_index=True)


def test_images_are_kept_as_summaries_and_text_as_strings(tmp_path):
    log = PredictionLog(tmp_path, [IMAGE, TEXT], [LABEL], decode_predictions, flush_seconds=0.05)
    log.start()
    images = np.arange(2 * 64, dtype=np.float32).reshape(2, 8, 8, 1)
    outputs = {"label": np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]], dtype=np.float32)}
    request_id = log.record({"image": images, "text": np.array([b"good", "bad"], dtype=object)}, outputs, 2, 0.01)
    log.stop()
    frame = read(tmp_path)
    assert list(frame["image.mean"]) == [31.5, 95.5] and list(frame["image.max"]) == [63.0, 127.0]
    assert "image" not in frame.columns and list(frame["text"]) == ["good", "bad"]
    assert list(frame["_pred.label"]) == ["b", "a"] and np.allclose(frame["_conf.label"], [0.7, 0.8])
    assert list(frame["_request_id"]) == [request_id] * 2 and list(frame["_row"]) == [0, 1]


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path):
    metrics = ServerMetrics()
    log = PredictionLog(tmp_path, [TEXT], [LABEL], decode_predictions, metrics=metrics, queue_requests=3)
    outputs = {"label": np.zeros((1, 3), dtype=np.float32)}
    ids = [log.record({"text": np.array(["x"], dtype=object)}, outputs, 1, 0.0) for _ in range(5)]  # not started
    assert ids[3:] == [None, None] and None not in ids[:3]
    assert log.dropped == 2
    assert metrics.dropped_rows.labels(reason="queue_full")._value.get() == 2


def test_sampling_and_the_size_budget(tmp_path):
    log = PredictionLog(tmp_path, [TEXT], [LABEL], decode_predictions, sample=0.0001, flush_seconds=0.05)
    outputs = {"label": np.zeros((1, 3), dtype=np.float32)}
    assert sum(log.record({"text": np.array(["x"], dtype=object)}, outputs, 1, 0.0) is not None for _ in range(200)) < 5
    small = PredictionLog(tmp_path, [TEXT], [LABEL], decode_predictions, max_bytes=1, flush_seconds=0.05)
    for _ in range(3):
        small.start()
        small.record({"text": np.array(["x"], dtype=object)}, outputs, 1, 0.0)
        small.stop()
    assert len(list(tmp_path.glob("predictions-*.parquet"))) == 1  # the oldest files were deleted


def test_the_size_budget_lists_the_folder_once_not_at_every_file(tmp_path, monkeypatch):
    outputs = {"label": np.zeros((1, 3), dtype=np.float32)}
    old = [tmp_path / f"predictions-2026010{i}T000000-1-{i:06d}.parquet" for i in range(5)]
    for i, path in enumerate(old):  # files an earlier server left, oldest first
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
    log = PredictionLog(tmp_path, [TEXT], [LABEL], decode_predictions, max_bytes=6000, flush_seconds=60)
    listed = []
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pattern: listed.append(pattern) or real_glob(self, pattern))
    written = []
    for _ in range(4):
        log.record({"text": np.array(["x"], dtype=object)}, outputs, 1, 0.0)
        log._collect(pending := [])
        log._flush(pending)
        written.append(max(real_glob(tmp_path, FILE_GLOB), key=lambda p: p.stat().st_mtime_ns))
    assert listed == [FILE_GLOB]  # once, at the first file; then the log's own account
    left = set(real_glob(tmp_path, FILE_GLOB))
    assert sum(p.stat().st_size for p in left) <= 6000
    kept_old = [path in left for path in old]
    assert kept_old == sorted(kept_old) and not kept_old[0]  # the oldest went first
    assert written[-1] in left
