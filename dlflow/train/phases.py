"""`fit.phases`: one training in phases, as chapter 8 of Deep Learning with Python fine-tunes.

Each phase sets which of the backbone's layers learn (`dlflow.config.schema_phases`), compiles
the model again with a fresh optimizer (the phase's learning rate, else compile.optimizer's),
and continues fitting where the previous phase ended: one history, one TensorBoard run, epochs
numbered on. A pretrained backbone's BatchNormalization layers stay frozen (inference mode) in
every phase. A resumed
run starts in the phase its backed-up epoch falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from dlflow.errors import ConfigError


@dataclass(frozen=True)
class Phase:
    """One phase's place in the run: epochs `start` (0-based) to `end` (exclusive)."""

    index: int  # 1-based
    count: int
    start: int
    end: int
    config: Any  # dlflow.config.schema_phases.PhaseConfig


def plan_phases(phases: Sequence[Any], epochs: int) -> list[Phase]:
    """The phases as epoch ranges, cut at `epochs` in all (fit.epochs, or a stage's own count)."""
    out, start = [], 0
    for index, phase in enumerate(phases, 1):
        end = min(start + phase.epochs, epochs)
        if end > start:
            out.append(Phase(index, len(phases), start, end, phase))
        start += phase.epochs
    return out


def learning_layers(backbone: Any, trainable: Any, index: int) -> list[Any]:
    """The backbone's layers a phase's `trainable` names (before BatchNormalization is left out)."""
    layers = list(backbone.layers)
    path = ("fit", "phases", index - 1, "trainable")
    if trainable == "none":
        return []
    if trainable == "all":
        return layers
    if hasattr(trainable, "top_layers"):
        if trainable.top_layers > len(layers):
            raise ConfigError(
                f"top_layers: {trainable.top_layers} is more than the backbone's {len(layers)} layers",
                config_path=(*path, "top_layers"),
            )
        return layers[-trainable.top_layers :]
    name = trainable.from_layer
    start = next((i for i, layer in enumerate(layers) if layer.name == name or layer.name.startswith(f"{name}_")), None)
    if start is None:
        from dlflow.config.problems import did_you_mean

        names = [layer.name for layer in layers]
        prefixes = sorted({n.rsplit("_", 1)[0] for n in names if "_" in n})
        raise ConfigError(
            f"the backbone has no layer named {name!r} or starting with '{name}_'"
            f"{did_you_mean(name, names + prefixes)}; its layers are {names[1]} ... {names[-1]}",
            config_path=(*path, "from_layer"),
        )
    return layers[start:]


def check_phases(model: Any, config: Any) -> None:
    """Refuse, before the run exists, phases that cannot take effect on this model."""
    from dlflow.model.backbone import find_backbone

    phases = config.fit.phases or []
    if phases and config.model.api == "factory":
        raise ConfigError(
            "fit.phases compiles the model again for each phase, which a factory's model (compiled, "
            "or trained by its own steps, as the factory decides) cannot take; use model.sequential "
            "or model.functional",
            config_path=("fit", "phases"),
        )
    backbone = find_backbone(model)
    for index, phase in enumerate(phases, 1):
        if phase.trainable != "all" and backbone is None:
            raise ConfigError(
                "trainable chooses model.backbone's layers, and the model has no backbone; use "
                "trainable: all (phases then only change the learning rate)",
                config_path=("fit", "phases", index - 1, "trainable"),
            )
        if backbone is not None:
            learning_layers(backbone, phase.trainable, index)


def apply_phase(model: Any, phase: Phase, *, pretrained: bool) -> str:
    """Set which layers learn in `phase`; returns what it is, for the log.

    Args:
        pretrained: the backbone's weights are pretrained (imagenet or a file): its BatchNormalization
            layers stay frozen, in inference mode, keeping their statistics; with weights: null they learn.
    """
    import keras

    from dlflow.model.backbone import find_backbone

    backbone = find_backbone(model)
    if backbone is None:
        return "the whole model learns"
    learn = {id(layer) for layer in learning_layers(backbone, phase.config.trainable, phase.index)}
    backbone.trainable = bool(learn)
    frozen_norms = 0
    for layer in backbone.layers:
        norm = pretrained and isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = id(layer) in learn and not norm
        frozen_norms += int(norm and id(layer) in learn)
    if not learn:
        return "the backbone is frozen, the head learns"
    first = next(layer.name for layer in backbone.layers if id(layer) in learn)
    which = "all" if len(learn) == len(backbone.layers) else f"{len(learn)}"
    return (
        f"the head and {which} of the backbone's {len(backbone.layers)} layers learn (from {first}"
        + (f"; its {frozen_norms} BatchNormalization layers stay frozen: pretrained" if frozen_norms else "")
        + ")"
    )


def phase_optimizer(spec: Any, learning_rate: float | None) -> Any:
    """compile.optimizer as a new object, with the phase's learning rate when it has one."""
    from dlflow.model.resolve import resolve, split_spec

    if learning_rate is None:
        return resolve("optimizers", spec, ("compile", "optimizer"))
    if isinstance(spec, str):
        optimizer = resolve("optimizers", spec, ("compile", "optimizer"))
        optimizer.learning_rate = learning_rate
        return optimizer
    name, kwargs = split_spec(spec)
    return resolve("optimizers", {name: {**kwargs, "learning_rate": learning_rate}}, ("compile", "optimizer"))


def fit_epochs(
    session: Any,
    config: Any,
    train: Any,
    fit_range: Callable[[int, int], Any],
    callbacks: Sequence[Any],
    epochs: int,
    log: Callable[[str], None] = lambda line: None,
) -> Any:
    """Fit `epochs` epochs, in fit.phases when there are phases; returns the (last phase's) History.

    A resumed run starts in the phase of the epochs its backup holds (the checkpoints callback's
    `resume_epoch()`).

    Args:
        session: the built and compiled model and its runtime (`dlflow.train.session.Session`).
        train: the training split (its targets, for compiling).
        fit_range: fits epochs [first, end) (`model.fit(initial_epoch=first, epochs=end)`).
        callbacks: the callbacks `fit_range` passes (a CSV log appends after the first phase; the
            checkpoints are told where each phase starts).
        epochs: the epochs in all; phases past them are cut.
    """
    import keras

    if not config.fit.phases:
        return fit_range(0, epochs)
    start_epoch = max((c.resume_epoch() for c in callbacks if hasattr(c, "resume_epoch")), default=0)
    model, history = session.model, None
    plan, total = plan_phases(config.fit.phases, epochs), sum(p.epochs for p in config.fit.phases)
    if epochs < total:
        log(f"phases: {total} epochs in all, cut at {epochs} (fit.epochs): the run ends in phase {plan[-1].index}")
    # A resumed run that has all its epochs fits none in its last phase (its checkpoints still end it).
    for phase in [p for p in plan if p.end > start_epoch] or plan[-1:]:
        first = min(max(phase.start, start_epoch), phase.end)
        described = apply_phase(model, phase, pretrained=_pretrained(config))
        _compile(session, config, train, phase_optimizer(config.compile.optimizer, phase.config.learning_rate))
        rate = phase.config.learning_rate
        if first < phase.end:
            log(
                f"phase {phase.index}/{phase.count}: epochs {first + 1}-{phase.end}: {described}; learning rate "
                f"{rate if rate is not None else 'of compile.optimizer'}"
            )
        for callback in callbacks:
            if hasattr(callback, "phase_start"):
                callback.phase_start = phase.start
        model._initial_epoch = None  # set by a restored backup: the phase's own start counts
        history = fit_range(first, phase.end)
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.CSVLogger):
                callback.append = True  # one history.csv
        if _diverged(history):
            break  # TerminateOnNaN stopped it: the next phase would start from NaN weights
    return history


def _compile(session: Any, config: Any, train: Any, optimizer: Any) -> None:
    """Compile the model again as dlflow does, with `optimizer` (within the runtime's strategy)."""
    from dlflow.model.build import compile_model
    from dlflow.train.runtime import strategy_scope

    with strategy_scope(session.runtime):
        compile_model(
            session.model, config, train.target_specs, jit_compile=session.runtime.jit_compile, optimizer=optimizer
        )


def _pretrained(config: Any) -> bool:
    from dlflow.config.backbone_check import backbone_pretrained

    return backbone_pretrained(config.model.backbone)


def _diverged(history: Any) -> bool:
    import math

    losses = (getattr(history, "history", None) or {}).get("loss", [])
    return any(not math.isfinite(float(v)) for v in losses)
