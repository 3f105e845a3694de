"""report.html says what parity.json says: a skipped format is "skipped" with its reason, never a MISMATCH."""

from __future__ import annotations

import json

from tests.conftest import run_cli

PARITY = {
    "samples": 64,
    "ok": True,
    "skipped": ["tflite"],
    "formats": {
        "saved_model": {
            "path": "saved_model",
            "ok": True,
            "max_abs_diff": 1e-07,
            "max_rel_diff": 2e-07,
            "tolerance": 1e-05,
        },
        "tflite": {
            "path": None,
            "ok": False,
            "max_abs_diff": None,
            "max_rel_diff": None,
            "unsupported": True,
            "skipped": "TFLite has no kernel for StringSplit (TextVectorization)",
        },
        "onnx": {
            "path": None,
            "ok": False,
            "max_abs_diff": None,
            "max_rel_diff": None,
            "error": "export failed: converter crashed",
        },
    },
}


def test_report_shows_a_skipped_export_as_skipped_with_its_reason(tmp_path):
    run = tmp_path / "runs" / "text" / "20260101-000000"
    (run / "export").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"status": "completed", "stage": "train"}))
    (run / "export" / "parity.json").write_text(json.dumps(PARITY))
    done = run_cli("report", str(run), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    page = (run / "report.html").read_text()
    assert "<th>tflite</th><td>skipped: TFLite has no kernel for StringSplit (TextVectorization)</td>" in page
    assert "<th>onnx</th><td>FAILED: export failed: converter crashed</td>" in page
    assert "<th>saved_model</th><td>ok (max rel diff 2e-07, tolerance 1e-05)</td>" in page
    assert "MISMATCH" not in page and "None" not in page
