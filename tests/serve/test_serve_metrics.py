"""The server's Prometheus metrics: prometheus_client in a registry per server."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from dlflow.serve.metrics import ServerMetrics


def samples(metrics: ServerMetrics) -> dict:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_histograms_and_gauges_parse_with_prometheus_clients_parser():
    metrics = ServerMetrics()
    metrics.requests.labels(endpoint="predict", code="200").inc()
    metrics.requests.labels(endpoint="predict", code="200").inc()
    metrics.requests.labels(endpoint="predict", code="400").inc()
    metrics.latency.labels(endpoint="predict").observe(0.003)
    metrics.latency.labels(endpoint="predict").observe(0.2)
    metrics.batch_size.observe(5)
    metrics.load_seconds.labels(model="digits").set(1.5)
    metrics.model_info.labels(model="digits", version="1", run='runs/a "quoted" \\ name').set(1)
    metrics.set_drift({"mean radius": 0.31}, rows=120)
    found = samples(metrics)
    assert found[("dlflow_serve_requests_total", (("code", "200"), ("endpoint", "predict")))] == 2
    assert found[("dlflow_serve_requests_total", (("code", "400"), ("endpoint", "predict")))] == 1
    bucket = "dlflow_serve_request_duration_seconds_bucket"
    assert found[(bucket, (("endpoint", "predict"), ("le", "0.001")))] == 0
    assert found[(bucket, (("endpoint", "predict"), ("le", "0.005")))] == 1
    assert found[(bucket, (("endpoint", "predict"), ("le", "+Inf")))] == 2
    assert found[("dlflow_serve_batch_size_sum", ())] == 5
    assert found[("dlflow_serve_model_load_seconds", (("model", "digits"),))] == 1.5
    assert (
        found[("dlflow_serve_model_info", (("model", "digits"), ("run", 'runs/a "quoted" \\ name'), ("version", "1")))]
        == 1
    )
    assert found[("dlflow_serve_feature_psi", (("feature", "mean radius"),))] == 0.31
    assert found[("dlflow_serve_drift_rows", ())] == 120


def test_each_server_has_its_own_registry():
    first, second = ServerMetrics(), ServerMetrics()
    first.requests.labels(endpoint="predict", code="200").inc()
    assert ("dlflow_serve_requests_total", (("code", "200"), ("endpoint", "predict"))) not in samples(second)
