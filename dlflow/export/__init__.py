"""Export a trained Keras model to deployable artifacts and prove they predict like it.

`export_model` writes each requested artifact into the run's `export/` folder (DESIGN.md §3),
reloads it in its own runtime, compares its predictions with `model.predict` on held-out
samples and writes `parity.json`:

| format        | artifact          | written with                         | reloaded with                       |
|---------------|-------------------|--------------------------------------|-------------------------------------|
| `keras`       | `model.keras`     | `model.save`                         | `keras.saving.load_model`           |
| `saved_model` | `saved_model/`    | `model.export(format="tf_saved_model")` | `tf.saved_model.load`, `serving_default` |
| `tflite`      | `model.tflite`    | `TFLiteConverter.from_saved_model`   | `tf.lite.Interpreter` signature runner |
| `onnx`        | `model.onnx`      | tf2onnx, from the SavedModel         | `onnxruntime.InferenceSession`      |

Preprocessing layers are inside the model, so every artifact takes raw inputs. How inputs and
outputs are named in the artifacts is described in `dlflow.export.signature`; the parity metric
and tolerances in `dlflow.export.parity`.

The parity report (`export_model`'s result, also `export/parity.json`):

```
{"samples": 64, "ok": true, "skipped": [],
 "formats": {"onnx": {"path": "model.onnx", "ok": true, "max_abs_diff": 2.4e-07,
                      "max_rel_diff": 3.1e-07, "tolerance": 1e-05, "seconds": 0.61,
                      "size_bytes": 53421, "outputs": {"output_0": {...}}}, ...}}
```

Per format: `path` (relative to the export folder), `seconds` (time to write the artifact; a
SavedModel already exported for TFLite/ONNX is reused, so it is counted there), `size_bytes`,
the parity fields of `dlflow.export.parity.compare` (with one entry per output under `outputs`)
and, for tflite, `quantize`. `ok` is true when every format is within its tolerance; a format
the converter cannot express (e.g. `TextVectorization` in TFLite or ONNX) is recorded as
`{"ok": false, "unsupported": true, "skipped": reason}`, listed in `skipped`, and does not make
`ok` false. A format that failed for another reason has an `error` and does. When a format
yields no usable artifact, an earlier one at its path is deleted, so the folder always agrees
with `parity.json`.

TensorFlow is imported inside the functions, never when this package is imported.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Iterator

from dlflow.config.schema_base import EXPORT_FORMATS as FORMATS
from dlflow.config.schema_base import QUANTIZE_MODES
from dlflow.errors import UsageError, WorkFailed
from dlflow.export import _files
from dlflow.export.errors import Unsupported

ARTIFACTS = {"keras": "model.keras", "saved_model": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}
REPORT_NAME = "parity.json"

__all__ = ["ARTIFACTS", "FORMATS", "QUANTIZE_MODES", "REPORT_NAME", "export_model", "check_formats"]


def check_formats(formats: Sequence[str], tflite_quantize: str = "none") -> list[str]:
    """Validate format names (order kept, duplicates dropped); UsageError names the valid ones."""
    if isinstance(formats, str):
        formats = [formats]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(
            f"unknown export format {unknown[0]!r}",
            details=[f"valid formats: {', '.join(FORMATS)}"],
        )
    if not formats:
        raise UsageError("no export format given", details=[f"valid formats: {', '.join(FORMATS)}"])
    if tflite_quantize not in QUANTIZE_MODES:
        raise UsageError(
            f"unknown tflite quantization {tflite_quantize!r}",
            details=[f"valid values: {', '.join(QUANTIZE_MODES)}"],
        )
    return list(dict.fromkeys(formats))


def export_model(
    model,
    export_dir: Path,
    formats: Sequence[str],
    samples,
    *,
    tflite_quantize: str = "none",
    representative=None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Write each requested artifact into export_dir, reload it in its own runtime, compare its
    predictions on `samples` with model.predict, write export_dir/parity.json, return the report.

    Args:
        model: a built, trained `keras.Model`; one or several (named) inputs and outputs.
        export_dir: the folder to write into (created if missing).
        formats: any of `FORMATS`, in the order to export them.
        samples: raw inputs as `model.predict` takes them: an array, or a dict input name ->
            array (a list for list-input models); e.g. 64 test rows.
        tflite_quantize: `none` (default), `dynamic`, `float16` or `int8`.
        representative: int8 calibration rows, in the same form as `samples`; defaults to
            `samples`.
        log: called with one line per step (the CLI prints them to stderr).

    Returns:
        The parity report, also written to `export_dir/parity.json` (see "The parity report" above).
        A mismatch never raises: the caller decides the exit status from `ok`.

    Raises:
        UsageError: an unknown format or quantization mode.
        DataError: the samples do not fit the model.
        WorkFailed: an artifact cannot be written (disk full, permissions).

    Example:
        >>> report = export_model(model, run_dir / "export", ["keras", "onnx"], x_test[:64])
        >>> report["ok"], report["formats"]["onnx"]["max_rel_diff"]
        (True, 3.1e-07)
    """
    from dlflow.export import signature

    formats = check_formats(formats, tflite_quantize)
    say = log or (lambda line: None)
    export_dir = _make_folder(Path(export_dir))
    samples = signature.normalize_samples(samples)
    report: dict[str, Any] = {"samples": signature.count_rows(samples), "ok": True, "skipped": [], "formats": {}}
    with _exact_float32():
        reference = signature.keras_outputs(model, samples)
        feed = signature.input_feed(model, samples)
        job = _Job(model, export_dir, samples, feed, reference, tflite_quantize, representative, say)
        try:
            with _files.staging(export_dir) as staging:
                job.staging = staging
                for fmt in formats:
                    report["formats"][fmt] = job.run(fmt)
        except OSError as e:
            raise WorkFailed(f"cannot write the export to {export_dir}: {e.strerror or e}") from e

    _write_report(report, export_dir, say)
    return report


def _make_folder(export_dir: Path) -> Path:
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WorkFailed(f"cannot create the export folder {export_dir}: {e.strerror or e}") from e
    return export_dir


def _write_report(report: dict[str, Any], export_dir: Path, say: Callable[[str], None]) -> None:
    """Fill in `skipped` and `ok` from the formats' entries and write parity.json."""
    entries = report["formats"]
    report["skipped"] = [f for f, e in entries.items() if e.get("unsupported")]
    report["ok"] = all(e["ok"] or e.get("unsupported") for e in entries.values())
    try:
        _files.write_text(export_dir / REPORT_NAME, json.dumps(report, indent=2) + "\n")
    except OSError as e:
        raise WorkFailed(f"cannot write {export_dir / REPORT_NAME}: {e.strerror or e}") from e
    say(f"parity: {'ok' if report['ok'] else 'MISMATCH'} on {report['samples']} samples -> {export_dir / REPORT_NAME}")


class _Job:
    """One `export_model` call: writes, checks and publishes the artifacts one by one."""

    def __init__(
        self,
        model,
        export_dir: Path,
        samples,
        feed,
        reference,
        quantize: str,
        representative,
        say: Callable[[str], None],
    ):
        self.model, self.export_dir, self.samples, self.feed = model, export_dir, samples, feed
        self.reference, self.quantize, self.representative, self.say = (reference, quantize, representative, say)
        self.staging: Path | None = None
        self._saved_model: Path | None = None  # the SavedModel TFLite and ONNX convert from

    def run(self, fmt: str) -> dict:
        """Export, check and publish one format; return its report entry."""
        from dlflow.export import parity
        from dlflow.export.signature import match_names

        final = self.export_dir / ARTIFACTS[fmt]
        tolerance = parity.tolerance_for(fmt, self.quantize)
        entry: dict[str, Any] = {"path": ARTIFACTS[fmt], "ok": False}
        if fmt == "tflite":
            entry["quantize"] = self.quantize
        self.say(f"{fmt}: exporting {ARTIFACTS[fmt]}" + (f" (quantize {self.quantize})" if fmt == "tflite" else ""))

        start = time.perf_counter()
        try:
            staged = self._write(fmt)
        except OSError:
            raise  # disk full, permissions: export_model turns it into WorkFailed
        except Unsupported as e:
            return self._give_up(fmt, entry, start, final, skipped=str(e))
        except Exception as e:  # a converter failing on this model
            return self._give_up(fmt, entry, start, final, error=f"export failed: {_one_line(e)}")
        entry["seconds"] = round(time.perf_counter() - start, 3)
        entry["size_bytes"] = _files.size_bytes(staged)

        try:
            got = self._predict(fmt, staged)
            names = match_names(list(self.reference), list(got), "outputs")
            got = {k: got[v] for k, v in names.items()}
        except Unsupported as e:
            return self._give_up(fmt, entry, start, final, skipped=str(e))
        except Exception as e:  # noqa: BLE001 - the runtime could not load or run it
            return self._give_up(fmt, entry, start, final, error=f"cannot run the exported artifact: {_one_line(e)}")

        entry.update(parity.compare(self.reference, got, tolerance))
        _files.publish(staged, final)
        if fmt == "saved_model":
            self._saved_model = final
        verdict = "ok" if entry["ok"] else "MISMATCH"
        self.say(
            f"{fmt}: {ARTIFACTS[fmt]} ({_size(entry['size_bytes'])}, {entry['seconds']:.1f}s), "
            f"parity {verdict}: max rel diff {_num(entry['max_rel_diff'])} "
            f"(tolerance {tolerance.rel:g}"
            + (f", agreement >= {tolerance.min_agreement:g}" if tolerance.min_agreement else "")
            + ")"
        )
        return entry

    def _write(self, fmt: str) -> Path:
        from dlflow.export import keras_format, onnx_format, tflite

        staged = self.staging / ARTIFACTS[fmt]
        if fmt == "keras":
            keras_format.write(self.model, staged)
        elif fmt == "saved_model":
            earlier = self._saved_model  # exported into staging for an earlier tflite/onnx
            if earlier is not None and earlier.parent == self.staging and earlier.exists():
                os.replace(earlier, staged)
            else:
                self._export_saved_model(staged)
            self._saved_model = staged
        elif fmt == "tflite":
            tflite.write(
                self._saved_model_source(),
                staged,
                quantize=self.quantize,
                representative=self._representative() if self.quantize == "int8" else None,
            )
        elif fmt == "onnx":
            onnx_format.write(self._saved_model_source(), staged)
        return staged

    def _saved_model_source(self) -> Path:
        """The SavedModel of this model: the published one, or one exported into staging."""
        if self._saved_model is None or not self._saved_model.exists():
            path = self.staging / "saved_model.src"
            self._export_saved_model(path)
            self._saved_model = path
        return self._saved_model

    def _export_saved_model(self, path: Path) -> None:
        from dlflow.export import saved_model

        _files.remove(path)  # a half-written folder from an earlier failed attempt
        saved_model.write(self.model, path)

    def _representative(self) -> dict:
        from dlflow.export import signature

        if self.representative is None:
            return self.feed
        return signature.input_feed(self.model, signature.normalize_samples(self.representative))

    def _predict(self, fmt: str, path: Path) -> dict:
        from dlflow.export import keras_format, onnx_format, saved_model, tflite

        if fmt == "keras":
            return keras_format.predict(path, self.samples)
        runner = {"saved_model": saved_model, "tflite": tflite, "onnx": onnx_format}[fmt]
        return runner.predict(path, self.feed)

    def _give_up(
        self, fmt: str, entry: dict, start: float, final: Path, *, skipped: str | None = None, error: str | None = None
    ) -> dict:
        """Record a format that produced no usable artifact; remove any stale one."""
        entry.update(
            path=None,
            ok=False,
            max_abs_diff=None,
            max_rel_diff=None,
            seconds=round(time.perf_counter() - start, 3),
            size_bytes=0,
        )
        if skipped is not None:
            entry.update(unsupported=True, skipped=skipped)
            self.say(f"{fmt}: skipped, unsupported for this model: {skipped}")
        else:
            entry["error"] = error
            self.say(f"{fmt}: FAILED: {error}")
        if _files.remove(final):
            self.say(f"{fmt}: removed the stale {final.name} of an earlier export")
        return entry


@contextlib.contextmanager
def _exact_float32() -> Iterator[None]:
    """Turn TensorFloat-32 off while exporting: on Ampere+ GPUs TensorFlow's default TF32
    matmuls/convolutions differ from float32 by ~1e-3 and would fail the 1e-5 parity checks
    against CPU runtimes (onnxruntime, TFLite)."""
    import tensorflow as tf

    was = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(was)


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _num(x: float | None) -> str:
    return "inf/nan" if x is None else f"{x:.2e}"
