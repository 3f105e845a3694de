"""Prometheus metrics for the server, through `prometheus_client`, in a registry of its own.

Each server (each `create_app`) has its own `CollectorRegistry`, never the process-wide default,
so two apps in one process (tests) never share or clash over series. `render()` writes the text
exposition format (`generate_latest`). Counters are named without `_total`: prometheus_client
adds it (`dlflow_serve_requests_total`).

Example:

```python
metrics = ServerMetrics()
metrics.requests.labels(endpoint="predict", code="200").inc()
metrics.set_drift({"mean radius": 0.31})
print(metrics.render())
```
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# what generate_latest writes (prometheus_client's CONTENT_TYPE_LATEST names 1.0.0, for UTF-8 metric names)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServerMetrics:
    """The server's own metrics: requests, latency, batches, model load time, the prediction log and drift."""

    def __init__(self):
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dlflow_serve_requests",
            "HTTP requests answered, by endpoint and status code.",
            ("endpoint", "code"),
            registry=registry,
        )
        self.latency = Histogram(
            "dlflow_serve_request_duration_seconds",
            "Time from request to the end of the response, by endpoint.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "dlflow_serve_batch_size",
            "Examples per model call (concurrent requests batched together).",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.batch_requests = Histogram(
            "dlflow_serve_batch_requests", "Requests per model call.", buckets=BATCH_SIZE_BUCKETS, registry=registry
        )
        self.batch_seconds = Histogram(
            "dlflow_serve_batch_duration_seconds", "Time of one model call.", buckets=LATENCY_BUCKETS, registry=registry
        )
        self.load_seconds = Gauge(
            "dlflow_serve_model_load_seconds",
            "Time to load the model and trace its predict function.",
            ("model",),
            registry=registry,
        )
        self.model_info = Gauge(
            "dlflow_serve_model_info",
            "The served model: name, version and run directory.",
            ("model", "version", "run"),
            registry=registry,
        )
        self.logged_rows = Counter(
            "dlflow_serve_log_rows", "Examples written to the prediction log.", registry=registry
        )
        self.dropped_rows = Counter(
            "dlflow_serve_log_dropped_rows",
            "Sampled examples not logged, by reason (queue full, write error).",
            ("reason",),
            registry=registry,
        )
        self.drift_psi = Gauge(
            "dlflow_serve_feature_psi",
            "Population stability index of each numeric feature: the last logged rows against the training split.",
            ("feature",),
            registry=registry,
        )
        self.drift_rows = Gauge(
            "dlflow_serve_drift_rows", "Logged rows the drift gauges were computed on.", registry=registry
        )
        self._drift_lock = threading.Lock()

    def set_drift(self, psi: dict[str, float], rows: int = 0) -> None:
        """Set the drift gauges (called from the prediction log's thread)."""
        with self._drift_lock:
            for feature, value in psi.items():
                self.drift_psi.labels(feature=feature).set(value)
            self.drift_rows.set(rows)

    def render(self) -> bytes:
        """Every metric in the text exposition format."""
        return generate_latest(self.registry)
