"""The overfit check: a model that cannot memorize a few batches will not learn the whole data.

The config's model is trained on a small subset of the training split, with none of the config's
callbacks, until it fits that subset (accuracy 0.99 in inference mode, or for regression an MAE
a fifth of the mean predictor's) or a bounded budget runs out. A failure comes with advice read
from how the loss moved and from the model itself (`dlflow.workflow.overfit_advice`): a learning
rate too high or too low, a bottleneck layer, too little capacity, strong regularization, labels
that may not match inputs.

```python
result = overfit_check(loaded, data.train, data.validation, log=print)
result.passed, result.epochs, result.advice
```
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dlflow.log import Log, quiet
from dlflow.workflow.overfit_advice import diagnose
from dlflow.workflow.scores import primary_metric, primary_target, score_outputs, score_predictions

SAMPLES = 256  # the subset: a few batches
MIN_BATCHES = 4  # the batch size shrinks to keep at least this many batches per epoch
MAX_EPOCHS = 300
MAX_SECONDS = 240.0
PATIENCE = 25  # epochs without a 1% better training loss before giving up
CHECK_EVERY = 5  # epochs between inference-mode scores of the subset
ACCURACY_GOAL = 0.99
REGRESSION_GOAL = 0.2  # MAE as a fraction of the mean predictor's MAE (about R² 0.96 for normal errors)


@dataclass
class OverfitResult:
    """What the overfit check found.

    Args:
        passed: the model fitted the subset.
        samples: the subset's size.
        batch_size: the batch size it trained with.
        epochs: epochs trained.
        seconds: wall time of the training.
        metric: the metric of `reached` and `goal` (accuracy, binary_accuracy or mae).
        reached: the best inference-mode score on the subset.
        goal: the score that passes.
        first_loss: the training loss after the first epoch.
        last_loss: the training loss after the last epoch.
        stopped: why training stopped.
        advice: what to change, when it failed.
    """

    passed: bool
    samples: int
    batch_size: int
    epochs: int
    seconds: float
    metric: str
    reached: float | None
    goal: float
    first_loss: float | None
    last_loss: float | None
    stopped: str
    advice: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return asdict(self)


def overfit_check(
    loaded: Any,
    train: Any,
    validation: Any,
    *,
    samples: int = SAMPLES,
    max_epochs: int = MAX_EPOCHS,
    max_seconds: float = MAX_SECONDS,
    log: Log = quiet,
) -> OverfitResult:
    """Train the config's model on a small subset of `train` until it memorizes it.

    Args:
        loaded: the LoadedConfig.
        train: the training split; the subset is a seeded sample of it.
        validation: the validation split (only to check the config; not used for training).
        samples: how many training samples to memorize.
        max_epochs: the epoch budget.
        max_seconds: the time budget.
        log: receives progress lines.
    """
    from dlflow.train.session import build_session, fit_session

    config = loaded.config
    count = min(samples, len(train))
    subset = train.take(np.sort(np.random.default_rng(config.seed).choice(len(train), count, replace=False)))
    session = build_session(loaded, subset, validation, log=quiet)
    batch_size = max(1, min(session.batch_size, count // MIN_BATCHES))
    target, spec = primary_target(subset)
    truth = np.asarray(subset.targets[target])
    watch = _watch(
        subset,
        target,
        truth,
        batch_size=batch_size,
        seed=config.seed,
        max_seconds=max_seconds,
        max_epochs=max_epochs,
        log=log,
    )
    started = time.perf_counter()
    fit_session(
        session, config, subset, subset.take(np.arange(0)), epochs=max_epochs, callbacks=[watch], batch_size=batch_size
    )
    seconds = time.perf_counter() - started
    result = _result(watch, count, batch_size, seconds)
    if not result.passed:
        result.advice = diagnose(result, config, session.model, spec, truth)
    log(
        f"overfit check: {'passed' if result.passed else 'FAILED'} after {watch.epochs} epochs ({seconds:.1f} s): "
        f"{watch.stopped}"
    )
    return result


def _watch(
    subset: Any,
    target: str,
    truth: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    max_seconds: float,
    max_epochs: int,
    log: Log,
) -> Any:
    """The callback that scores the subset in inference mode and stops at the goal (announced in the log)."""
    from dlflow.data.pipeline import to_tf_dataset

    spec = subset.target_specs[target]
    metric = primary_metric(spec.task)
    goal = _goal(spec, truth)
    log(
        f"overfit check: {len(subset)} training samples, batch size {batch_size}, up to {max_epochs} epochs; "
        f"goal: {metric} {'<=' if metric == 'mae' else '>='} {goal:.4g} on those samples"
    )
    return _watcher()(
        to_tf_dataset(subset, batch_size=batch_size, shuffle=False, seed=seed),
        lambda outputs: score_outputs(spec, truth, _first_output(outputs, target)),
        metric=metric,
        goal=goal,
        max_seconds=max_seconds,
        max_epochs=max_epochs,
        log=log,
    )


def _result(watch: Any, samples: int, batch_size: int, seconds: float) -> OverfitResult:
    """What the watching callback saw, as the check's result (no advice yet)."""
    return OverfitResult(
        watch.stopped == "reached the goal",
        samples,
        batch_size,
        watch.epochs,
        round(seconds, 2),
        watch.metric,
        watch.best,
        watch.goal,
        watch.losses[0] if watch.losses else None,
        watch.losses[-1] if watch.losses else None,
        watch.stopped,
    )


def _goal(spec: Any, truth: np.ndarray) -> float:
    if spec.task != "regression":
        return ACCURACY_GOAL
    mean_mae = score_predictions("regression", truth, np.broadcast_to(truth.mean(axis=0), truth.shape))
    return REGRESSION_GOAL * mean_mae if mean_mae > 0 else 1e-6


def _first_output(outputs: Any, name: str) -> np.ndarray:
    return np.asarray(outputs[name] if isinstance(outputs, dict) else outputs)


class _WatchEvents:
    """Stops training once the subset is fitted, the loss is not finite, or the budget is spent."""

    def __init__(
        self,
        data: Any,
        score: Any,
        *,
        metric: str,
        goal: float,
        max_seconds: float,
        max_epochs: int = MAX_EPOCHS,
        log: Log = quiet,
    ):
        super().__init__()
        self.data, self.score, self.metric, self.goal = data, score, metric, goal
        self.max_seconds, self.max_epochs, self.log = max_seconds, max_epochs, log
        self.last: float | None = None  # the latest inference-mode score
        self.losses: list[float] = []
        self.best: float | None = None
        self.epochs = 0
        self.stopped = "the epoch budget ran out"
        self._best_loss = math.inf
        self._since_better = 0
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = float((logs or {}).get("loss", math.nan))
        self.losses.append(loss)
        self.epochs = epoch + 1
        if not math.isfinite(loss):
            return self._stop(f"the loss became {loss} at epoch {epoch + 1}")
        if loss < 0.99 * self._best_loss:
            self._best_loss, self._since_better = loss, 0
        else:
            self._since_better += 1
        if epoch % CHECK_EVERY == CHECK_EVERY - 1:
            reached = self._scored()
            self._progress(loss)
            if reached:
                return self._stop("reached the goal")
        if self._since_better >= PATIENCE:
            return self._stop(f"the training loss stopped improving ({PATIENCE} epochs without a 1% gain)")
        if time.perf_counter() - self._started > self.max_seconds:
            return self._stop(f"the time budget ({self.max_seconds:g} s) ran out")

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.epochs % CHECK_EVERY and self.losses and math.isfinite(self.losses[-1]) and self._scored():
            self.stopped = "reached the goal"  # on the last epoch, between two checks

    def _scored(self) -> bool:
        """Score the subset in inference mode; True when the goal is reached."""
        score = self.last = self.score(self.model.predict(self.data, verbose=0))
        if self.best is None or (score < self.best if self.metric == "mae" else score > self.best):
            self.best = score
        return (score <= self.goal) if self.metric == "mae" else (score >= self.goal)

    def _progress(self, loss: float) -> None:
        """A line per check: the epoch, the training loss and the subset's score against the goal."""
        elapsed = time.perf_counter() - self._started
        self.log(
            f"overfit check: epoch {self.epochs}/{self.max_epochs}: loss {loss:.4g}, {self.metric} "
            f"{self.last:.4g} (goal {self.goal:.4g}); {elapsed:.0f} s"
        )

    def _stop(self, why: str) -> None:
        self.stopped = why
        self.model.stop_training = True


def _watcher() -> type:
    """The overfit check's Keras callback: `_WatchEvents` on `keras.callbacks.Callback` (Keras imported lazily)."""
    import keras

    class Watch(_WatchEvents, keras.callbacks.Callback):
        """Stops training once the subset is fitted, the loss is not finite, or the budget is spent."""

    return Watch
