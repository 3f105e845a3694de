"""The deploy stage's export: a run's model as .keras, SavedModel, TFLite and ONNX, with parity."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from dlflow.errors import WorkFailed
from dlflow.log import Log, quiet
from dlflow.runs.lock import run_lock
from dlflow.runs.manifest import update_manifest
from dlflow.workflow.opened_run import load_run_model, open_run

PARITY_SAMPLES = 64


def export(
    run_ref: str,
    formats: Sequence[str] = (),
    *,
    runs_root: Path = Path("runs"),
    log: Log = quiet,
    trust_code: bool = False,
) -> dict[str, Any]:
    """Export a run's model into <run>/export/ and check each artifact against the Keras model.

    Args:
        run_ref: a run directory or experiment name (its latest completed train run).
        formats: keras, saved_model, tflite, onnx; default: the config's export.formats.

    Raises:
        WorkFailed: an artifact's predictions differ from the Keras model's beyond tolerance.
    """
    from dlflow.export import export_model

    opened = open_run(run_ref, runs_root, log, trust_code=trust_code)
    with run_lock(opened.run):  # one writer per run directory
        config = opened.loaded.config
        formats = list(formats) or list(config.export.formats)
        samples_data = opened.data.test() if len(opened.data.split.test) else opened.data.validation
        import numpy as np

        take = samples_data.take(np.arange(min(PARITY_SAMPLES, len(samples_data))))
        model = load_run_model(opened)
        report = export_model(
            model,
            opened.run.export,
            formats,
            take.model_inputs(),
            tflite_quantize=config.export.tflite.quantize,
            log=log,
        )
        update_manifest(
            opened.run.manifest,
            export={"formats": formats, "ok": report.get("ok"), "skipped": report.get("skipped", [])},
        )
    report["run"] = str(opened.run.path)
    if not report.get("ok"):
        bad = [f for f, r in report.get("formats", {}).items() if not r.get("ok")]
        raise WorkFailed(f"export parity failed for: {', '.join(bad)} (see {opened.run.export / 'parity.json'})")
    return report
