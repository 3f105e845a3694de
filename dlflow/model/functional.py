"""`model.functional`: a named graph of layers with several inputs and outputs."""

from __future__ import annotations

from typing import Any

from dlflow.errors import ConfigError
from dlflow.model.choices import ModelChoices, body_name, scale_output
from dlflow.model.graph_calls import apply_layer, call_arguments
from dlflow.model.inputs import ModelInputs
from dlflow.model.resolve import resolve


def _input_tensors(graph: Any, inputs: ModelInputs) -> dict[str, Any]:
    """The preprocessed tensors of the data inputs `graph.inputs` names."""
    tensors: dict[str, Any] = {}
    for name in graph.inputs:
        if name not in inputs.features:
            known = ", ".join(inputs.features)
            raise ConfigError(
                f"'{name}' is not an input of this data; inputs are: {known}",
                config_path=("model", "functional", "inputs"),
            )
        tensors[name] = inputs.features[name]
    return tensors


def build_functional(
    graph: Any, inputs: ModelInputs, *, float32_output: bool, choices: ModelChoices | None = None
) -> Any:
    """Build the graph: each node is {ClassName: kwargs, inputs: ...} or {reuse: <node>, inputs: ...}.

    `inputs` is a name or a list of names (the layer's first call argument) or a mapping of call
    argument names to names (`{query: a, value: b}`); `reuse` calls another node's layer again, so
    both share one set of weights.

    `graph.inputs` name data inputs (columns or arrays); their preprocessed tensors feed the
    nodes. Output nodes keep their names, so losses and targets map to them by name (a regression
    output's node is `<name>_standardized` when the inverse target scaling follows it as `<name>`).
    """
    import keras

    tensors = _input_tensors(graph, inputs)
    outputs = set(graph.outputs)

    made: dict[str, Any] = {}  # node -> its layer, for `reuse`

    def build(node: str, stack: tuple[str, ...] = ()) -> Any:
        if node in tensors:
            return tensors[node]
        if node not in graph.layers:
            raise ConfigError(f"unknown node '{node}'", config_path=("model", "functional", "layers", *stack[-1:]))
        here = ("model", "functional", "layers", node)
        if node in stack:
            raise ConfigError(f"the graph has a cycle through '{node}'", config_path=here)
        spec = dict(graph.layers[node])
        sources = spec.pop("inputs", None)
        if sources is None:
            raise ConfigError("a node needs 'inputs'", config_path=here)
        args, kwargs = call_arguments(sources, lambda s: build(s, (*stack, node)))
        if "reuse" in spec:
            build(spec["reuse"], (*stack, node))
            layer = made[spec["reuse"]]
        else:
            extra = {"name": body_name(node, choices) if node in outputs else node}
            if node in outputs and float32_output:
                extra["dtype"] = "float32"
            layer = resolve("layers", spec, here, **extra)
        made[node] = layer
        tensors[node] = apply_layer(layer, args, kwargs, here)
        if "reuse" in spec and node in outputs:  # name the output after its node, as a new layer would be
            dtype = "float32" if float32_output else None
            tensors[node] = keras.layers.Identity(name=body_name(node, choices), dtype=dtype)(tensors[node])
        return tensors[node]

    built_outputs = {name: build(name) for name in graph.outputs}
    for name, moments in choices.scaled.items() if choices is not None else ():
        if name in built_outputs:  # a missing one is check_outputs's to report
            built_outputs[name] = scale_output(built_outputs[name], name, moments)
    raw = {name: inputs.raw[name] for name in graph.inputs}
    model_inputs = next(iter(raw.values())) if len(raw) == 1 else raw
    model_outputs = next(iter(built_outputs.values())) if len(built_outputs) == 1 else built_outputs
    return keras.Model(model_inputs, model_outputs, name="functional_model")
