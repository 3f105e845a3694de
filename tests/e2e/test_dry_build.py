"""The dry build: what only a built model finds is one located line before the run directory exists."""

from __future__ import annotations

from tests.conftest import CONFIGS, run_cli


def _refused_before_the_run(tmp_path, *settings: str) -> str:
    """`train` of the digits MLP for one epoch with `settings`: exit 2, one error line (returned),
    no traceback and no run directory."""
    sets = [part for setting in settings for part in ("--set", setting)]
    done = run_cli(
        "--runs-dir",
        str(tmp_path / "runs"),
        "train",
        str(CONFIGS / "digits_mlp.yaml"),
        "--set",
        "fit.epochs=1",
        *sets,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert not list((tmp_path / "runs").glob("digits-mlp/2*")), "no run directory for a refused config"
    return errors[0]


def test_a_loss_that_does_not_fit_the_output_is_refused_before_the_run_exists(tmp_path):
    assert "compile.loss: the model cannot train on one batch:" in _refused_before_the_run(tmp_path, "compile.loss=mse")


def test_class_weight_for_some_classes_weighs_the_others_1():
    """Keras's fit indexes a tensor of max(class)+1 weights by label: {0: 2} alone crashed on label 5."""
    from types import SimpleNamespace

    import numpy as np

    from dlflow.train.class_weights import class_weights as _class_weight

    spec = SimpleNamespace(classes=["a", "b", "c"])
    train = SimpleNamespace(target_specs={"y": spec}, task="multiclass", targets={"y": np.array([0, 1, 2])})
    assert _class_weight({"b": 2}, train) == {0: 1.0, 1: 2.0, 2: 1.0}


def test_a_callback_refused_by_the_dry_build_leaves_nothing_behind_in_the_process(tmp_path):
    """TensorBoard with update_freq 'x' fails in its epoch; the summary writer it had set up in the process
    is undone, so the next training in the same process is not broken by it (found by the train fuzzer)."""
    import subprocess
    import sys

    script = f"""
import dlflow
from dlflow.errors import ConfigError
config = {str(CONFIGS / "digits_mlp.yaml")!r}
try:
    dlflow.train(config, ["fit.epochs=1", "fit.callbacks=[{{TensorBoard: {{update_freq: x}}}}]"], runs_root="runs")
except ConfigError as error:
    print("refused:", str(error).splitlines()[0])
run = dlflow.train(config, ["fit.epochs=1", "fit.callbacks=[]"], runs_root="runs")
print("trained:", run.path.name)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: " in done.stdout and "fit.callbacks[0]" in done.stdout, done.stdout
    assert "trained: 2" in done.stdout, done.stdout


def test_a_callback_that_fails_at_validation_is_refused_before_the_run_exists(tmp_path):
    """SwapEMAWeights swaps in the EMA weights when validation begins: without `use_ema` it fails there,
    which the dry build's epoch now includes (found by the train fuzzer: `validate --build` had accepted it)."""
    error = _refused_before_the_run(tmp_path, "fit.callbacks=[SwapEMAWeights]")
    assert "fit.callbacks[0]" in error and "use_ema" in error, error
