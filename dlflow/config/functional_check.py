"""Checks a `model.functional` graph without Keras: node classes, edges, outputs, cycles.

A mixin of the config checker (`keras_check._Checker`), which provides `report` and `instance`.
Each node is `{ClassName: kwargs, inputs: name | [names]}`; its inputs reach the layer as one
argument (one tensor, or a list of tensors), so a layer whose `call` takes several tensors by
name (`MultiHeadAttention(query, value)`) cannot be written in the graph yet, and named inputs
(`inputs: {query: a, value: b}`) are refused here rather than when the model is built.
"""

from __future__ import annotations

from typing import Any

from dlflow.config.paths import ConfigPath
from dlflow.config.problems import did_you_mean


class FunctionalChecks:
    """The functional graph's checks, mixed into the config checker."""

    catalogue: Any

    def functional(self, graph: dict, path: ConfigPath) -> list[str] | None:
        """Checks a functional graph's nodes and edges; returns its output names."""
        inputs = [x for x in _names(graph.get("inputs")) if isinstance(x, str)]
        layers = _mapping(graph.get("layers"))
        known = inputs + [n for n in layers if isinstance(n, str)]
        edges: dict[str, list[str]] = {}
        for node, spec in layers.items():
            here = path + ("layers", node)
            if node in inputs:
                self.report(here, f"node {node!r} has the name of a data input; use another name", here)
            if not isinstance(spec, dict):
                continue  # pydantic reports it
            classes = [k for k in spec if k != "inputs"]
            if len(classes) != 1:
                received = ", ".join(map(str, classes)) or "none"
                self.report(
                    here,
                    "expected one layer class besides 'inputs', e.g. {Dense: {units: 8}, inputs: x}; "
                    f"received {received}",
                    here,
                )
            else:
                cls, kwargs = classes[0], spec[classes[0]]
                if kwargs is None or isinstance(kwargs, dict):
                    self.instance(str(cls), kwargs or {}, here, ("layers",))
                else:
                    self.report(here + (cls,), f"expected a mapping of arguments, received {kwargs!r}", value=True)
            if "inputs" not in spec:
                self.report(here, "missing required key 'inputs': the inputs or nodes it takes", here)
                continue
            sources = spec["inputs"]
            if not self.one_call_argument(classes[0] if len(classes) == 1 else None, sources, here):
                continue
            listed = isinstance(sources, list)
            edges[node] = []
            for i, source in enumerate(_names(sources)):
                where = here + ("inputs", i) if listed else here + ("inputs",)
                if not isinstance(source, str):
                    self.report(here + ("inputs",), f"expected names of inputs or nodes, received {source!r}", where, True)
                elif source not in known:
                    self.report(
                        here + ("inputs",),
                        f"unknown input {source!r}{did_you_mean(source, known)}; "
                        "expected a name from model.functional.inputs or a node",
                        where,
                        True,
                    )
                elif source in layers:
                    edges[node].append(source)
        outputs = _names(graph.get("outputs"))
        listed = isinstance(graph.get("outputs"), list)
        for i, output in enumerate(outputs):
            if isinstance(output, str) and output not in layers:
                hint = did_you_mean(output, [n for n in layers if isinstance(n, str)])
                where = path + ("outputs", i) if listed else path + ("outputs",)
                self.report(path + ("outputs",), f"unknown node {output!r}{hint}", where, True)
        self.cycles(edges, path)
        if not outputs or not all(isinstance(o, str) and o in layers for o in outputs):
            return None  # per-output names cannot be checked against broken outputs
        return outputs

    def one_call_argument(self, cls: Any, sources: Any, here: ConfigPath) -> bool:
        """Whether the node's layer can take its inputs as one call argument; reports why not."""
        if isinstance(sources, dict):
            self.report(here + ("inputs",), "named call arguments (e.g. {query: a, value: b}) are not supported "
                        "yet: write `inputs: name` or `inputs: [names]` (the layer is called on one tensor or "
                        "a list of tensors)", here + ("inputs",))
            return False
        info = self.catalogue["layers"].classes.get(cls) if isinstance(cls, str) else None
        if info is not None and info.call_required:
            named = ", ".join(info.call_required)
            self.report(here, f"{cls} is called with several named tensors ({named}); a model.functional node "
                        f"passes its inputs as one argument, so {cls} cannot be used in the graph yet "
                        f"(use model.factory)", here + ("inputs",))
        return True

    def cycles(self, edges: dict[str, list[str]], path: ConfigPath):
        """Reports each cycle in the graph once, at its first node."""
        state: dict[str, int] = {}  # 1: on the stack, 2: done
        stack: list[str] = []

        def visit(node: str):
            state[node] = 1
            stack.append(node)
            for source in edges.get(node, ()):
                if state.get(source) == 1:
                    cycle = stack[stack.index(source):] + [source]
                    self.report(
                        path + ("layers", source),
                        "the graph has a cycle: " + " <- ".join(cycle),
                        path + ("layers", source),
                    )
                elif source not in state:
                    visit(source)
            stack.pop()
            state[node] = 2

        for node in edges:
            if node not in state:
                visit(node)


def _names(value: Any) -> list:
    if isinstance(value, str):
        return [value]
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}
