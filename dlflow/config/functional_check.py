"""Checks a `model.functional` graph without Keras: node classes, edges, outputs, cycles.

A mixin of the config checker (`keras_check._Checker`), which provides `report` and `instance`.
Each node is `{ClassName: kwargs, inputs: ...}` or `{reuse: <node>, inputs: ...}` (that node's
layer called again, the same weights: a siamese pair). `inputs: name | [names]` reach the layer's
`call` as one argument (one tensor, or a list of tensors); `inputs: {query: a, value: b}` pass
named call arguments, checked against the names `call` takes (`MultiHeadAttention` needs
`query` and `value`).
"""

from __future__ import annotations

from typing import Any

from dlflow.config.paths import ConfigPath
from dlflow.config.problems import did_you_mean, suggest

NODE_KEYS = ("inputs", "reuse")  # besides the layer's class


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
            edges[node] = []
            cls = self.node_class(spec, layers, here, edges[node])
            if "inputs" not in spec:
                self.report(here, "missing required key 'inputs': the inputs or nodes it takes", here)
                continue
            for source, where in self.node_sources(cls, spec["inputs"], here):
                if not isinstance(source, str):
                    self.report(
                        here + ("inputs",), f"expected names of inputs or nodes, received {source!r}", where, True
                    )
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

    def node_class(self, spec: dict, layers: dict, here: ConfigPath, edges: list[str]) -> str | None:
        """Checks the node's layer: one class with its arguments, or `reuse: <node>` (that node's layer,
        same weights); returns the class name (followed through reuse), None when unknown."""
        classes = [k for k in spec if k not in NODE_KEYS]
        if "reuse" in spec:
            if classes:
                self.report(
                    here,
                    f"a node with 'reuse' calls that node's layer; remove {', '.join(map(str, classes))} "
                    f"(or remove 'reuse' to make a new layer)",
                    here + (classes[0],),
                )
            return self.reused_class(spec["reuse"], layers, here, edges)
        if len(classes) != 1:
            received = ", ".join(map(str, classes)) or "none"
            self.report(
                here,
                "expected one layer class besides 'inputs' (or 'reuse: <node>'), e.g. "
                f"{{Dense: {{units: 8}}, inputs: x}}; received {received}",
                here,
            )
            return None
        cls, kwargs = classes[0], spec[classes[0]]
        if kwargs is None or isinstance(kwargs, dict):
            self.instance(str(cls), kwargs or {}, here, ("layers",))
        else:
            self.report(here + (cls,), f"expected a mapping of arguments, received {kwargs!r}", value=True)
        return cls if isinstance(cls, str) else None

    def reused_class(self, target: Any, layers: dict, here: ConfigPath, edges: list[str]) -> str | None:
        """Checks `reuse: <node>`; returns the class of the layer it reuses."""
        seen = set()
        while isinstance(target, str) and target in layers and target not in seen:
            if target not in seen and not seen:
                edges.append(target)  # the reused layer is made by building that node first
            seen.add(target)
            spec = layers[target]
            if not isinstance(spec, dict):
                return None
            if "reuse" not in spec:
                classes = [k for k in spec if k not in NODE_KEYS]
                return classes[0] if len(classes) == 1 and isinstance(classes[0], str) else None
            target = spec["reuse"]
        if isinstance(target, str) and target in seen:
            return None  # a cycle: reported by `cycles`
        hint = did_you_mean(target, [n for n in layers if isinstance(n, str)]) if isinstance(target, str) else ""
        self.report(
            here + ("reuse",),
            f"expected the name of a node whose layer to call again, received {target!r}{hint}",
            here + ("reuse",),
            True,
        )
        return None

    def layer_info(self, cls: Any) -> Any:
        """The catalogue's entry for a layer class (Keras's own or a dotted name), None when unknown."""
        return self._find(cls, ("layers",)) if isinstance(cls, str) else None

    def node_sources(self, cls: str | None, sources: Any, here: ConfigPath) -> list[tuple[Any, ConfigPath]]:
        """The node's sources with where each is written; checks named inputs against the layer's `call`.

        `inputs: name` or `[names]` reach `call` as its first argument (one tensor or a list);
        `inputs: {argument: name | [names], ...}` pass each by name (`query`, `value`, `attention_mask`).
        """
        info = self.layer_info(cls)
        if isinstance(sources, dict):
            found, meant = [], set()
            accepted = info.call_args if info is not None else ()
            for argument, value in sources.items():
                where = here + ("inputs", argument)
                if accepted and argument not in accepted:
                    hint = did_you_mean(argument, accepted)
                    meant.add(suggest(argument, accepted))
                    self.report(
                        here + ("inputs",),
                        f"{cls} does not take {argument!r}{hint}; its call takes: {', '.join(accepted)}",
                        where,
                    )
                    continue
                listed = isinstance(value, list)
                found += [(v, where + (i,) if listed else where) for i, v in enumerate(_names(value) or [value])]
            required = info.call_required if info is not None else ()
            missing = [a for a in required if a not in sources and a not in meant]
            if missing:
                self.report(
                    here + ("inputs",), f"{cls} needs the named input(s) {', '.join(missing)}", here + ("inputs",)
                )
            return found
        if info is not None and info.call_required:
            named = ", ".join(info.call_required)
            example = ", ".join(f"{name}: <node>" for name in info.call_required)
            self.report(
                here,
                f"{cls} is called with several named tensors ({named}): name them, inputs: {{{example}}}",
                here + ("inputs",),
            )
        listed = isinstance(sources, list)
        return [
            (s, here + ("inputs", i) if listed else here + ("inputs",))
            for i, s in enumerate(_names(sources) or [sources])
        ]

    def cycles(self, edges: dict[str, list[str]], path: ConfigPath):
        """Reports each cycle in the graph once, at its first node."""
        state: dict[str, int] = {}  # 1: on the stack, 2: done
        stack: list[str] = []

        def visit(node: str):
            state[node] = 1
            stack.append(node)
            for source in edges.get(node, ()):
                if state.get(source) == 1:
                    cycle = stack[stack.index(source) :] + [source]
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
