"""Build the experiment's model from its config and training data, and check it fits the target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from dlflow.data.dataset import Dataset, TargetSpec
from dlflow.data.no_target import require_target
from dlflow.errors import ConfigError
from dlflow.model.choices import ModelChoices, model_choices
from dlflow.model.custom_classes import import_config_modules
from dlflow.model.inputs import build_inputs
from dlflow.model.resolve import resolve


def build_model(
    config: Any,
    train: Dataset,
    *,
    float32_output: bool = False,
    base_dir: Path | None = None,
    choices: ModelChoices | None = None,
    log: Any = None,
) -> Any:
    """The keras.Model an experiment config describes, with preprocessing adapted on `train`.

    Args:
        config: the ExperimentConfig.
        train: the training split (preprocessing statistics come from it alone).
        float32_output: keep output layers in float32 (under mixed precision).
        base_dir: the config's folder (where a factory's module, and those of dotted class names,
            are looked up first).
        choices: the data-dependent defaults (`model_choices(config, train)` when None): the text
            output mode, and the regression targets that get a last inverse-scaling layer.
        log: receives the lines describing model.backbone when there is one.
    """
    import_config_modules(config, base_dir)  # KerasHub's and your classes named by dotted path
    choices = choices if choices is not None else model_choices(config, train)
    augment = [resolve("layers", spec, ("data", "augment", i)) for i, spec in enumerate(config.data.augment)]
    spec = config.model
    inputs = build_inputs(
        train, augment=None if spec.backbone else augment, text_options=config.data.text, text_mode=choices.text_mode
    )
    if spec.backbone is not None:  # the raw image -> augment -> the application's preprocessing -> backbone
        inputs = _with_backbone(spec.backbone, train, inputs, augment, log)
    if spec.api != "factory":
        require_target(train, f"a {spec.api} model (its outputs are fitted to the target)")
    model, as_is = _build_api(
        config, train, inputs, float32_output=float32_output, choices=choices, augment=bool(augment), base_dir=base_dir
    )
    if as_is:
        _ensure_built(model, train)
        return model  # fitted as it is: its own steps decide what is learned, it has no dlflow outputs
    require_target(train, "a model body that dlflow wraps and fits to the target")
    check_outputs(model, train.target_specs, config)
    return model


def _with_backbone(backbone: Any, train: Dataset, inputs: Any, augment: list[Any], log: Any) -> Any:
    """The inputs with the backbone's features as the combined tensor the head takes; logs what was built."""
    from dlflow.model.backbone import apply_backbone

    features, described = apply_backbone(backbone, train, inputs.raw, augment)
    for line in described if log is not None else []:
        log(line)
    return replace(inputs, combined=features)


def _build_api(
    config: Any,
    train: Dataset,
    inputs: Any,
    *,
    float32_output: bool,
    choices: ModelChoices,
    augment: bool,
    base_dir: Path | None,
) -> tuple[Any, bool]:
    """(the model of model.sequential, .functional or .factory, whether it is fitted as it is)."""
    spec, targets = config.model, train.target_specs
    if spec.api == "sequential":
        from dlflow.model.sequential import build_sequential

        if len(targets) > 1:
            raise ConfigError(
                f"a Sequential model has one output, but the data has {len(targets)} targets "
                f"({', '.join(targets)}); use model.functional",
                config_path=("model", "sequential"),
            )
        return build_sequential(
            spec.sequential,
            inputs,
            kind=train.kind,
            output_name=next(iter(targets)),
            float32_output=float32_output,
            choices=choices,
        ), False
    if spec.api == "functional":
        from dlflow.model.functional import build_functional

        return build_functional(spec.functional, inputs, float32_output=float32_output, choices=choices), False
    from dlflow.model.factory import build_factory, own_loop_methods

    model = build_factory(
        spec.factory,
        spec.args,
        inputs,
        kind=train.kind,
        augment=augment,
        outputs={n: t.units for n, t in targets.items()},
        task=train.task,
        base_dir=base_dir,
        choices=choices,
    )
    return model, bool(own_loop_methods(model))


def _ensure_built(model: Any, train: Dataset) -> None:
    """Build a model fitted as it is before fit (BackupAndRestore needs its weights): mark it built when
    all its layers are, else call it on a few training rows, as Keras advises."""
    if model.built:
        return
    if all(layer.built for layer in model._flatten_layers(include_self=False)):
        model.built = True  # only the outer flag was missing: every variable exists
        return
    import numpy as np

    from dlflow.data.pipeline import to_tf_dataset

    rows = train.take(np.arange(min(4, len(train))))
    batch = next(iter(to_tf_dataset(rows, batch_size=4, shuffle=False, seed=0)))
    x = batch[0] if train.target_specs else batch  # data without a target gives the inputs alone
    try:
        model(x, training=False)
    except Exception as exc:  # noqa: BLE001 - the user's call(); said in one line
        raise ConfigError(
            f"{type(model).__name__} is not built and calling it on a batch of raw training inputs "
            f"failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); build it "
            f"in the factory (give its layers their input shapes, or call it on a batch)",
            config_path=("model", "factory"),
        ) from exc


def model_outputs(model: Any, targets: dict[str, TargetSpec]) -> dict[str, Any]:
    """The model's output tensors by name (a single output is named after the single target)."""
    outputs = model.outputs
    names = [o.name.split("/")[0] for o in outputs] if len(outputs) > 1 else list(targets)
    output_names = getattr(model, "output_names", None) or names
    return dict(zip(output_names, outputs)) if len(outputs) > 1 else {next(iter(targets)): outputs[0]}


def check_outputs(model: Any, targets: dict[str, TargetSpec], config: Any) -> None:
    """Raise a ConfigError naming the last layer when the model's outputs do not fit the targets.

    A binary target takes 1 unit (sigmoid) or 2 (softmax over both classes); see `binary_loss`.
    """
    outputs = model.outputs
    if len(outputs) != len(targets):
        raise ConfigError(
            f"the model has {len(outputs)} output(s) but the data has {len(targets)} target(s) ({', '.join(targets)})",
            config_path=("model",),
        )
    by_name = model_outputs(model, targets)
    for name, target in targets.items():
        if name not in by_name:
            raise ConfigError(
                f"no model output is named '{name}'; outputs are: {', '.join(by_name)}; "
                f"name output nodes after the targets",
                config_path=_output_path(config, name),
            )
        units = by_name[name].shape[-1]
        expected = target.units
        allowed = {expected} | ({2} if target.task == "binary" else set())
        if units not in allowed or len(by_name[name].shape) < 2:
            raise ConfigError(
                f"the model's output has {units} unit(s) but the target '{name}' {_needs(target)}; "
                f"the last layer should be {_suggest(target)}",
                config_path=_output_path(config, name),
            )


def _needs(target: TargetSpec) -> str:
    if target.task == "multiclass":
        return f"has {target.units} classes"
    if target.task == "binary":
        return "is binary (1 unit with sigmoid)"
    if target.task == "multilabel":
        return f"has {target.units} labels"
    return f"has {target.units} value(s) per sample"


def _suggest(target: TargetSpec) -> str:
    activation = {"multiclass": "softmax", "binary": "sigmoid", "multilabel": "sigmoid"}.get(target.task)
    args = f"units: {target.units}" + (f", activation: {activation}" if activation else "")
    return f"Dense: {{{args}}}"


def _output_path(config: Any, name: str) -> tuple:
    spec = config.model
    if spec.api == "sequential":
        return ("model", "sequential", len(spec.sequential) - 1)
    if spec.api == "functional":
        return (
            ("model", "functional", "layers", name)
            if name in spec.functional.layers
            else ("model", "functional", "outputs")
        )
    return ("model", "factory")


def default_loss(target: TargetSpec) -> str:
    """The loss for a task when the config gives none."""
    return {
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
        "multilabel": "binary_crossentropy",
        "regression": "mse",
    }[target.task]


def binary_loss(target: TargetSpec, units: int | None) -> str | None:
    """The default loss of a binary target whose output has 2 units (softmax over both classes).

    Its labels are class indices (0, 1), so it takes `sparse_categorical_crossentropy`, as in
    Keras's own examples; predictions read the second unit as the probability of the second class.
    """
    return "sparse_categorical_crossentropy" if target.task == "binary" and units == 2 else None


def _check_binary_loss(loss: Any, target: TargetSpec, units: int | None, path: tuple) -> None:
    """A user-written loss is never replaced: refuse one that cannot compare class indices with 2 units."""
    if binary_loss(target, units) is None:
        return
    name = loss if isinstance(loss, str) else next(iter(loss))
    if "sparsecategorical" not in str(name).replace("_", "").lower():
        raise ConfigError(
            f"the binary target '{target.name}' has a 2-unit output, which '{name}' cannot score "
            f"against class indices: use sparse_categorical_crossentropy (2 units, softmax), or "
            f"leave compile.loss out; or make the last layer Dense: {{units: 1, activation: sigmoid}}",
            config_path=path,
        )


def default_metrics(target: TargetSpec) -> list[str]:
    """The metrics for a task when the config gives none."""
    return {
        "binary": ["accuracy"],
        "multiclass": ["accuracy"],
        "multilabel": ["binary_accuracy"],
        "regression": ["mae"],
    }[target.task]


def compile_model(
    model: Any,
    config: Any,
    targets: dict[str, TargetSpec],
    *,
    jit_compile: Any = "auto",
    steps_per_execution: int = 1,
    optimizer: Any = None,
) -> list[str] | None:
    """model.compile with the config's optimizer, losses, loss weights and metrics (task defaults).

    A factory's model with its own training loop that the factory compiled is left as it is
    (`dlflow.model.factory.compiled_by_factory`).

    Returns:
        The names training will log (`logged_names`), to check what `fit.monitor` names; None for
        a factory's model with its own training loop (its own steps decide what it logs).
    """
    own_loop = False
    if config.model.api == "factory":
        from dlflow.model.factory import compiled_by_factory, own_loop_methods

        if compiled_by_factory(model, config):
            return None
        own_loop = bool(own_loop_methods(model))
    section = config.compile
    if optimizer is None:  # a phase of fit.phases brings its own (dlflow.train.phases)
        optimizer = resolve("optimizers", section.optimizer, ("compile", "optimizer"))
    multi = len(targets) > 1

    units = {} if own_loop else {n: o.shape[-1] for n, o in model_outputs(model, targets).items()}
    if not targets:  # data without a target (a model fitted as it is): its own steps compute the loss
        loss = None if section.loss is None else _loss_object(section.loss, ("compile", "loss"))
        metrics = [resolve("metrics", m, ("compile", "metrics", i)) for i, m in enumerate(section.metrics or [])]
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
        )
        return None
    loss = _losses(section.loss, targets, units)
    metrics = _metrics(section.metrics, targets)
    loss_weights = section.loss_weights
    if isinstance(loss_weights, dict):
        _check_output_keys(loss_weights, targets, ("compile", "loss_weights"))
    model.compile(
        optimizer=optimizer,
        loss=loss,
        loss_weights=loss_weights,
        metrics=metrics,
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return None if own_loop else logged_names(loss, metrics, multi)


def _loss_object(value: Any, path: tuple) -> Any:
    return resolve("losses", value, path)


def _losses(spec: Any, targets: dict[str, TargetSpec], units: dict[str, Any]) -> Any:
    """compile.loss as model.compile takes it: the task's default, one for every output, or one per output."""
    multi = len(targets) > 1
    if spec is None:
        loss = {n: binary_loss(t, units.get(n)) or default_loss(t) for n, t in targets.items()}
        loss = loss if multi else next(iter(loss.values()))
    elif isinstance(spec, dict) and not _is_object(spec):
        _check_output_keys(spec, targets, ("compile", "loss"))
        for n, v in spec.items():
            _check_binary_loss(v, targets[n], units.get(n), ("compile", "loss", n))
        loss = {n: _loss_object(v, ("compile", "loss", n)) for n, v in spec.items()}
    else:
        for n, t in targets.items():
            _check_binary_loss(spec, t, units.get(n), ("compile", "loss"))
        loss = _loss_object(spec, ("compile", "loss"))
        if multi:
            loss = {n: loss for n in targets}
    return loss


def _metrics(spec: Any, targets: dict[str, TargetSpec]) -> Any:
    """compile.metrics as model.compile takes it: the task's defaults, a list for every output, or per output."""
    multi = len(targets) > 1
    if spec is None:
        metrics = (
            {n: default_metrics(t) for n, t in targets.items()}
            if multi
            else default_metrics(next(iter(targets.values())))
        )
    elif isinstance(spec, dict):
        _check_output_keys(spec, targets, ("compile", "metrics"))
        metrics = {
            n: [resolve("metrics", m, ("compile", "metrics", n, i)) for i, m in enumerate(v)] for n, v in spec.items()
        }
    else:
        metrics = [resolve("metrics", m, ("compile", "metrics", i)) for i, m in enumerate(spec)]
        if multi:
            metrics = {n: list(metrics) for n in targets}
    return metrics


def logged_names(loss: Any, metrics: Any, multi: bool) -> list[str]:
    """The training logs' names for these compile arguments (history.csv's columns, without `val_`).

    Keras's rules (keras/src/trainers/compile_utils.py): `loss`; `<output>_loss` per output when
    several outputs have a loss; a metric is named as written (a string) or by its object's name,
    prefixed `<output>_` when the model has several outputs.
    """
    names = ["loss"]
    if isinstance(loss, dict) and len(loss) > 1:
        names += [f"{output}_loss" for output in loss]
    per_output = metrics if isinstance(metrics, dict) else {None: metrics or []}
    for output, items in per_output.items():
        for metric in items or []:
            name = (
                metric if isinstance(metric, str) else getattr(metric, "name", None) or getattr(metric, "__name__", "")
            )
            names.append(f"{output}_{name}" if multi and output is not None else name)
    return names


def _is_object(value: dict) -> bool:
    from dlflow.config import is_class_mapping

    return is_class_mapping(value)


def _check_output_keys(mapping: dict, targets: dict[str, TargetSpec], path: tuple) -> None:
    for key in mapping:
        if key not in targets:
            raise ConfigError(
                f"'{key}' is not a model output; outputs are: {', '.join(targets)}", config_path=(*path, key)
            )
