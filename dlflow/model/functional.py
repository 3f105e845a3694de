"""`model.functional`: a named graph of layers with several inputs and outputs."""

from __future__ import annotations

from typing import Any

from dlflow.errors import ConfigError
from dlflow.model.choices import ModelChoices, body_name, scale_output
from dlflow.model.inputs import ModelInputs
from dlflow.model.resolve import resolve


def build_functional(graph: Any, inputs: ModelInputs, *, float32_output: bool,
                     choices: ModelChoices | None = None) -> Any:
    """Build the graph: each node is {ClassName: kwargs, inputs: name | [names]}.

    `graph.inputs` name data inputs (columns or arrays); their preprocessed tensors feed the
    nodes. Output nodes keep their names, so losses and targets map to them by name (a regression
    output's node is `<name>_standardized` when the inverse target scaling follows it as `<name>`).
    """
    import keras

    tensors: dict[str, Any] = {}
    for name in graph.inputs:
        if name not in inputs.features:
            known = ", ".join(inputs.features)
            raise ConfigError(f"'{name}' is not an input of this data; inputs are: {known}",
                              config_path=("model", "functional", "inputs"))
        tensors[name] = inputs.features[name]
    outputs = set(graph.outputs)

    def build(node: str, stack: tuple[str, ...] = ()) -> Any:
        if node in tensors:
            return tensors[node]
        if node not in graph.layers:
            raise ConfigError(f"unknown node '{node}'", config_path=("model", "functional", "layers", *stack[-1:]))
        if node in stack:
            raise ConfigError(f"the graph has a cycle through '{node}'", config_path=("model", "functional", "layers", node))
        spec = dict(graph.layers[node])
        sources = spec.pop("inputs", None)
        if sources is None:
            raise ConfigError("a node needs 'inputs'", config_path=("model", "functional", "layers", node))
        sources = [sources] if isinstance(sources, str) else list(sources)
        parents = [build(s, (*stack, node)) for s in sources]
        extra = {"name": body_name(node, choices) if node in outputs else node}
        if node in outputs and float32_output:
            extra["dtype"] = "float32"
        layer = resolve("layers", spec, ("model", "functional", "layers", node), **extra)
        try:
            tensors[node] = layer(parents[0] if len(parents) == 1 else parents)
        except (ValueError, TypeError) as exc:
            shapes = ", ".join(str(tuple(p.shape)) for p in parents)
            raise ConfigError(f"cannot apply {type(layer).__name__} to inputs of shape {shapes}: "
                              f"{str(exc).splitlines()[0]}", config_path=("model", "functional", "layers", node)) from exc
        return tensors[node]

    built_outputs = {name: build(name) for name in graph.outputs}
    for name, moments in (choices.scaled.items() if choices is not None else ()):
        if name in built_outputs:  # a missing one is check_outputs's to report
            built_outputs[name] = scale_output(built_outputs[name], name, moments)
    raw = {name: inputs.raw[name] for name in graph.inputs}
    model_inputs = next(iter(raw.values())) if len(raw) == 1 else raw
    model_outputs = next(iter(built_outputs.values())) if len(built_outputs) == 1 else built_outputs
    return keras.Model(model_inputs, model_outputs, name="functional_model")
