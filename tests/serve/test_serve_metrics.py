"""The Prometheus text exposition the server writes by hand."""

from __future__ import annotations

from dlflow.serve.metrics import ServerMetrics


def test_counters_histograms_and_gauges_render_in_the_text_format():
    metrics = ServerMetrics()
    metrics.requests.inc(endpoint="predict", code="200")
    metrics.requests.inc(endpoint="predict", code="200")
    metrics.requests.inc(endpoint="predict", code="400")
    metrics.latency.observe(0.003, endpoint="predict")
    metrics.latency.observe(0.2, endpoint="predict")
    metrics.batch_size.observe(5)
    metrics.load_seconds.set(1.5, model="digits")
    metrics.model_info.set(1, model="digits", version="1", run='runs/a "quoted" \\ name')
    text = metrics.render()
    lines = text.splitlines()
    assert text.endswith("\n")
    assert "# TYPE dlflow_serve_requests_total counter" in lines
    assert 'dlflow_serve_requests_total{endpoint="predict",code="200"} 2' in lines
    assert 'dlflow_serve_requests_total{endpoint="predict",code="400"} 1' in lines
    assert "# TYPE dlflow_serve_request_duration_seconds histogram" in lines
    assert 'dlflow_serve_request_duration_seconds_bucket{endpoint="predict",le="0.001"} 0' in lines
    assert 'dlflow_serve_request_duration_seconds_bucket{endpoint="predict",le="0.005"} 1' in lines
    assert 'dlflow_serve_request_duration_seconds_bucket{endpoint="predict",le="0.25"} 2' in lines
    assert 'dlflow_serve_request_duration_seconds_bucket{endpoint="predict",le="+Inf"} 2' in lines
    assert 'dlflow_serve_request_duration_seconds_count{endpoint="predict"} 2' in lines
    assert 'dlflow_serve_batch_size_bucket{le="4"} 0' in lines and 'dlflow_serve_batch_size_bucket{le="8"} 1' in lines
    assert "dlflow_serve_batch_size_sum 5" in lines
    assert 'dlflow_serve_model_load_seconds{model="digits"} 1.5' in lines
    assert 'run="runs/a \\"quoted\\" \\\\ name"' in text
