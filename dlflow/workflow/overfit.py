"""The overfit check: a model that cannot memorize a few batches will not learn the whole data.

The config's model is trained on a small subset of the training split, with none of the config's
callbacks, until it fits that subset (accuracy 0.99 in inference mode, or for regression an MAE
a fifth of the mean predictor's) or a bounded budget runs out. A failure comes with advice read
from how the loss moved and from the model itself: a learning rate too high or too low, a
bottleneck layer, too little capacity, strong regularization, labels that may not match inputs.

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
from dlflow.workflow.scores import primary_metric, primary_target, score_outputs, score_predictions

SAMPLES = 256  # the subset: a few batches
MIN_BATCHES = 4  # the batch size shrinks to keep at least this many batches per epoch
MAX_EPOCHS = 300
MAX_SECONDS = 240.0
PATIENCE = 25  # epochs without a 1% better training loss before giving up
CHECK_EVERY = 5  # epochs between inference-mode scores of the subset
ACCURACY_GOAL = 0.99
REGRESSION_GOAL = 0.2  # MAE as a fraction of the mean predictor's MAE (about R² 0.96 for normal errors)
HIGH_LEARNING_RATE = 0.1
LOW_LEARNING_RATE = 1e-5
STRONG_DROPOUT = 0.5
STRONG_PENALTY = 1e-2
TARGET_SCALE_LIMIT = 10.0  # regression targets with a mean or spread past this need data.target_scaling
WIDTH_ARGUMENTS = ("units", "filters")


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


def overfit_check(loaded: Any, train: Any, validation: Any, *, samples: int = SAMPLES,
                  max_epochs: int = MAX_EPOCHS, max_seconds: float = MAX_SECONDS, log: Log = quiet) -> OverfitResult:
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
    from dlflow.data.pipeline import to_tf_dataset
    from dlflow.train.session import build_session, fit_session

    config = loaded.config
    rng = np.random.default_rng(config.seed)
    count = min(samples, len(train))
    subset = train.take(np.sort(rng.choice(len(train), count, replace=False)))
    session = build_session(loaded, subset, validation, log=quiet)
    batch_size = max(1, min(session.batch_size, count // MIN_BATCHES))
    target, spec = primary_target(subset)
    truth = np.asarray(subset.targets[target])
    metric = primary_metric(spec.task)
    goal = _goal(spec, truth)
    log(f"overfit check: {count} training samples, batch size {batch_size}, up to {max_epochs} epochs; "
        f"goal: {metric} {'<=' if metric == 'mae' else '>='} {goal:.4g} on those samples")
    watch = _watcher()(to_tf_dataset(subset, batch_size=batch_size, shuffle=False, seed=config.seed),
                       lambda outputs: score_outputs(spec, truth, _first_output(outputs, target)),
                       metric=metric, goal=goal, max_seconds=max_seconds, max_epochs=max_epochs, log=log)
    started = time.perf_counter()
    fit_session(session, config, subset, subset.take(np.arange(0)), epochs=max_epochs, callbacks=[watch],
                batch_size=batch_size)
    seconds = time.perf_counter() - started
    passed = watch.stopped == "reached the goal"
    result = OverfitResult(passed, count, batch_size, watch.epochs, round(seconds, 2), metric, watch.best, goal,
                           watch.losses[0] if watch.losses else None, watch.losses[-1] if watch.losses else None,
                           watch.stopped)
    if not passed:
        result.advice = diagnose(result, config, session.model, spec, truth)
    log(f"overfit check: {'passed' if passed else 'FAILED'} after {watch.epochs} epochs ({seconds:.1f} s): "
        f"{watch.stopped}")
    return result


def diagnose(result: OverfitResult, config: Any, model: Any, spec: Any, truth: np.ndarray) -> list[str]:
    """Advice for a failed overfit check, most likely cause first.

    Args:
        result: the failed check.
        config: the ExperimentConfig.
        model: the model it trained.
        spec: the TargetSpec it was scored on.
        truth: that target's values on the subset.
    """
    advice = []
    rate = learning_rate(config)
    diverged = result.stopped.startswith("the loss became")
    rose = (result.first_loss is not None and result.last_loss is not None
            and math.isfinite(result.last_loss) and result.last_loss > 1.5 * result.first_loss)
    if diverged or rose or (rate is not None and rate >= HIGH_LEARNING_RATE):
        shown = f"{rate:g}" if rate is not None else "the learning rate"
        lower = 1e-3 if rate is None or rate >= HIGH_LEARNING_RATE else rate / 10
        advice.append(f"the learning rate ({shown}) is likely too high: the loss "
                      f"{'diverged' if diverged else 'rose' if rose else 'did not settle'}; "
                      f"lower it, e.g. {_rate_override(config, lower)}")
    elif rate is not None and rate <= LOW_LEARNING_RATE:
        advice.append(f"the learning rate ({rate:g}) is likely too low to fit in {result.epochs} epochs; "
                      f"raise it, e.g. {_rate_override(config, rate * 10)}")
    if spec.task == "regression":
        advice += target_scale_advice(model, truth)
    for path, layer, width in bottlenecks(config, model, spec.units):
        advice.append(f"{path}: {layer} with {width} unit(s) is a bottleneck narrower than the output "
                      f"({spec.units} unit(s)); widen it (e.g. 32 or more) or remove it")
    weights = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    if weights < result.samples:
        advice.append(f"the model has only {weights} trainable weights for {result.samples} samples: add units "
                      f"or layers for more capacity")
    advice += [f"{path}: {what} is strong regularization for a capacity check; try the model without it first"
               for path, what in strong_regularization(config)]
    moved = (result.first_loss is not None and result.last_loss is not None and math.isfinite(result.last_loss)
             and result.last_loss < 0.9 * result.first_loss)
    if not diverged and not moved:
        advice.append("the loss hardly moved: check that the labels match the inputs (shuffled or misaligned "
                      "labels cannot be learned) and that the inputs vary (not constant or all missing)")
    if not advice:
        advice.append(f"it reached {result.metric} {result.reached:.4g} (goal {result.goal:.4g}): add capacity "
                      f"(more units or layers) or raise the learning rate; check that the labels match the inputs")
    return advice


def target_scale_advice(model: Any, truth: np.ndarray) -> list[str]:
    """Advice to standardize regression targets (data.target_scaling) when they are far from standard
    units and the model's output is not scaled (target_scaling none, no Rescaling of the user's)."""
    mean, std = float(np.mean(truth)), float(np.std(truth))
    outputs = _output_tensors(model)
    last = type(outputs[0]._keras_history.operation).__name__ if outputs else None
    if max(abs(mean), std) <= TARGET_SCALE_LIMIT or last in ("Rescaling", "Normalization"):
        return []
    return [f"the targets have mean {mean:.4g} and standard deviation {std:.4g}, far from the output layer's "
            f"starting scale: let dlflow standardize them (data.target_scaling: standardize, the default for "
            f"regression) so the layers predict standard units and the model still answers in raw units"]


def _rate_override(config: Any, rate: float) -> str:
    """The --set that changes the learning rate (or the config entry to edit, for a named optimizer)."""
    from dlflow.model.resolve import split_spec

    if isinstance(config.compile.optimizer, str):
        return f"compile.optimizer: {{{config.compile.optimizer.capitalize()}: {{learning_rate: {rate:g}}}}}"
    name, _ = split_spec(config.compile.optimizer)
    return f"--set compile.optimizer.{name}.learning_rate={rate:g}"


def learning_rate(config: Any) -> float | None:
    """The optimizer's learning rate when the config gives it as a number (Keras's default for a name)."""
    from dlflow.model.resolve import split_spec

    name, kwargs = split_spec(config.compile.optimizer)
    rate = kwargs.get("learning_rate")
    if isinstance(rate, (int, float)):
        return float(rate)
    if rate is None:
        return 0.01 if name.lower() == "sgd" else 0.001
    return None  # a schedule


def bottlenecks(config: Any, model: Any, output_units: int) -> list[tuple[str, str, int]]:
    """(config path or layer name, class, width) of hidden layers narrower than the output (or 1 wide).

    The output layer is the last layer with a width (units, filters) before each output; layers
    after it (Rescaling, Activation) do not count.
    """
    from dlflow.model.resolve import split_spec

    limit = max(2, output_units)
    found = []
    if config.model.api == "sequential":
        widths = [(i, name, _width(kwargs)) for i, (name, kwargs) in
                  enumerate(split_spec(spec) for spec in config.model.sequential)]
        hidden = [w for w in widths if w[2] is not None][:-1]
        return [(f"model.sequential[{i}]", name, width) for i, name, width in hidden if width < limit]
    heads = {_head_layer(t) for t in _output_tensors(model)}
    for layer in model.layers:
        width = _width({a: getattr(layer, a, None) for a in WIDTH_ARGUMENTS})
        if width is not None and width < limit and layer.name not in heads:
            found.append((f"layer '{layer.name}'", type(layer).__name__, width))
    return found


def _output_tensors(model: Any) -> list[Any]:
    """The model's symbolic outputs (none for a model without a graph)."""
    try:
        return [t for t in model.outputs if hasattr(t, "_keras_history")]
    except (AttributeError, ValueError):
        return []


def _width(kwargs: dict[str, Any]) -> int | None:
    return next((kwargs[a] for a in WIDTH_ARGUMENTS if isinstance(kwargs.get(a), int)), None)


def _head_layer(tensor: Any) -> str | None:
    """The name of the last layer with a width on the way to an output tensor."""
    layer = tensor._keras_history.operation
    while _width({a: getattr(layer, a, None) for a in WIDTH_ARGUMENTS}) is None:
        parents = [t for node in layer._inbound_nodes for t in node.input_tensors]
        if len(parents) != 1:
            return layer.name
        layer = parents[0]._keras_history.operation
    return layer.name


def strong_regularization(config: Any) -> list[tuple[str, str]]:
    """(config path, what) for dropout rates and weight penalties strong enough to slow memorizing."""
    from dlflow.model.resolve import split_spec

    if config.model.api != "sequential":
        return []
    found = []
    for i, spec in enumerate(config.model.sequential):
        name, kwargs = split_spec(spec)
        if "Dropout" in name and isinstance(kwargs.get("rate"), (int, float)) and kwargs["rate"] >= STRONG_DROPOUT:
            found.append((f"model.sequential[{i}]", f"{name} rate {kwargs['rate']:g}"))
        for argument, value in kwargs.items():
            if argument.endswith("_regularizer") and value is not None:
                _, penalty = split_spec(value) if not isinstance(value, str) else (value, {})
                factors = [v for v in penalty.values() if isinstance(v, (int, float))]
                if factors and max(factors) >= STRONG_PENALTY:
                    found.append((f"model.sequential[{i}]", f"{argument} {max(factors):g}"))
    return found


def _goal(spec: Any, truth: np.ndarray) -> float:
    if spec.task != "regression":
        return ACCURACY_GOAL
    mean_mae = score_predictions("regression", truth, np.broadcast_to(truth.mean(axis=0), truth.shape))
    return REGRESSION_GOAL * mean_mae if mean_mae > 0 else 1e-6


def _first_output(outputs: Any, name: str) -> np.ndarray:
    return np.asarray(outputs[name] if isinstance(outputs, dict) else outputs)


class _WatchEvents:
    """Stops training once the subset is fitted, the loss is not finite, or the budget is spent."""

    def __init__(self, data: Any, score: Any, *, metric: str, goal: float, max_seconds: float,
                 max_epochs: int = MAX_EPOCHS, log: Log = quiet):
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
        self.log(f"overfit check: epoch {self.epochs}/{self.max_epochs}: loss {loss:.4g}, {self.metric} "
                 f"{self.last:.4g} (goal {self.goal:.4g}); {elapsed:.0f} s")

    def _stop(self, why: str) -> None:
        self.stopped = why
        self.model.stop_training = True


def _watcher() -> type:
    """The overfit check's Keras callback: `_WatchEvents` on `keras.callbacks.Callback` (Keras imported lazily)."""
    import keras

    class Watch(_WatchEvents, keras.callbacks.Callback):
        """Stops training once the subset is fitted, the loss is not finite, or the budget is spent."""

    return Watch
