"""Prometheus metrics for the server, written in the text exposition format by hand.

Three kinds cover what the server reports: counters (requests by endpoint and status code),
histograms (request latency, batch sizes, model call time) and gauges (model load time). Each
metric keeps one series per combination of label values; `Registry.render()` writes them all as
https://prometheus.io/docs/instrumenting/exposition_formats/ describes.

Example:

```python
registry = Registry()
requests = registry.counter("dlflow_serve_requests_total", "Requests answered.", ("endpoint", "code"))
requests.inc(endpoint="predict", code="200")
print(registry.render())
```
"""

from __future__ import annotations

import bisect
import math
import threading
from typing import Sequence

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class _Metric:
    """A named metric with fixed label names; one series per tuple of label values."""

    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()):
        self.name = name
        self.help_text = help_text
        self.labels = tuple(labels)
        self._series: dict[tuple[str, ...], object] = {}
        self._lock = threading.Lock()

    def _key(self, values: dict[str, object]) -> tuple[str, ...]:
        if set(values) != set(self.labels):
            raise ValueError(f"{self.name}: expected labels {self.labels}, received {tuple(values)}")
        return tuple(str(values[label]) for label in self.labels)

    def _label_text(self, key: tuple[str, ...], extra: tuple[tuple[str, str], ...] = ()) -> str:
        pairs = list(zip(self.labels, key)) + list(extra)
        if not pairs:
            return ""
        return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} {self.kind}"]
        with self._lock:
            series = sorted(self._series.items())
        for key, value in series:
            lines.extend(self._render_series(key, value))
        return lines

    def _render_series(self, key: tuple[str, ...], value: object) -> list[str]:
        return [f"{self.name}{self._label_text(key)} {_number(value)}"]


class Counter(_Metric):
    """A value that only goes up (requests answered)."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._series[key] = self._series.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return float(self._series.get(self._key(labels), 0.0))


class Gauge(_Metric):
    """A value that is set (model load time)."""

    kind = "gauge"

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._series[key] = float(value)


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count.

    Args:
        buckets: the upper bounds, ascending; `+Inf` is added.
    """

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), *, buckets: Sequence[float]):
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.get(key) or ([0] * (len(self.buckets) + 1), 0.0)
            counts[bisect.bisect_left(self.buckets, value)] += 1
            self._series[key] = (counts, total + value)

    def _render_series(self, key: tuple[str, ...], value: object) -> list[str]:
        counts, total = value
        lines, running = [], 0
        for bound, count in zip((*self.buckets, math.inf), counts):
            running += count
            le = "+Inf" if bound == math.inf else _number(bound)
            lines.append(f"{self.name}_bucket{self._label_text(key, (('le', le),))} {running}")
        lines.append(f"{self.name}_sum{self._label_text(key)} {_number(total)}")
        lines.append(f"{self.name}_count{self._label_text(key)} {running}")
        return lines


class Registry:
    """The metrics one server exposes, rendered in registration order."""

    def __init__(self):
        self._metrics: list[_Metric] = []

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self._add(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labels))

    def histogram(self, name: str, help_text: str, labels: Sequence[str] = (), *,
                  buckets: Sequence[float]) -> Histogram:
        return self._add(Histogram(name, help_text, labels, buckets=buckets))

    def _add(self, metric):
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for metric in self._metrics:
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


class ServerMetrics:
    """The server's own metrics: requests, latency, batches and model load time."""

    def __init__(self):
        self.registry = Registry()
        self.requests = self.registry.counter(
            "dlflow_serve_requests_total", "HTTP requests answered, by endpoint and status code.", ("endpoint", "code"))
        self.latency = self.registry.histogram(
            "dlflow_serve_request_duration_seconds", "Time from request to the end of the response, by endpoint.",
            ("endpoint",), buckets=LATENCY_BUCKETS)
        self.batch_size = self.registry.histogram(
            "dlflow_serve_batch_size", "Examples per model call (concurrent requests batched together).",
            buckets=BATCH_SIZE_BUCKETS)
        self.batch_requests = self.registry.histogram(
            "dlflow_serve_batch_requests", "Requests per model call.", buckets=BATCH_SIZE_BUCKETS)
        self.batch_seconds = self.registry.histogram(
            "dlflow_serve_batch_duration_seconds", "Time of one model call.", buckets=LATENCY_BUCKETS)
        self.load_seconds = self.registry.gauge(
            "dlflow_serve_model_load_seconds", "Time to load the model and trace its predict function.", ("model",))
        self.model_info = self.registry.gauge(
            "dlflow_serve_model_info", "The served model: name, version and run directory.",
            ("model", "version", "run"))

    def render(self) -> str:
        return self.registry.render()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    if math.isnan(number):
        return "NaN"
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
