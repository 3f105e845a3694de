"""Generates the Keras catalogue that config validation checks names and arguments against.

Run it whenever the installed Keras changes (a test checks the committed file is current):

```
python -m dlflow.config.make_catalogue            # rewrites dlflow/config/keras_catalogue.json
python -m dlflow.config.make_catalogue -o FILE    # writes FILE instead
```

This is the only module of `dlflow.config` that imports Keras; nothing imports it at load
time. For each category (layers, optimizers, schedules, losses, metrics, callbacks,
regularizers, initializers, constraints, activations) the catalogue lists:

- `classes`: every public class name with the keyword arguments its `__init__` accepts
  (`args`, following `**kwargs` up the MRO for as long as they are forwarded to a parent's
  `__init__`, plus names popped out of `**kwargs`), the arguments it requires (`required`),
  `any_kwargs: true` for the few classes that swallow arbitrary keyword arguments, `types`
  (the arguments known to be an int, a float or a bool) and, for layers whose `call` takes
  several tensors by name, `call_required`, and `call_args`, the names `call` takes (see
  `make_catalogue_types`).
- `identifiers`: the strings Keras accepts in place of an object (`adam`, `mse`, `relu`);
  `ci_identifiers` are matched case-insensitively (optimizers, `accuracy`/`acc`, `ce`).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from dlflow.config.catalogue import CATALOGUE_PATH, FORMAT_VERSION
from dlflow.config.make_catalogue_types import argument_types, call_arguments, call_required

# category -> (public module, base class path, private module holding ALL_OBJECTS_DICT)
CATEGORIES: dict[str, tuple[str, str | None, str | None]] = {
    "layers": ("keras.layers", "keras.layers.Layer", None),
    "optimizers": ("keras.optimizers", "keras.optimizers.Optimizer", "keras.src.optimizers"),
    "schedules": (
        "keras.optimizers.schedules",
        "keras.optimizers.schedules.LearningRateSchedule",
        None,
    ),
    "losses": ("keras.losses", "keras.losses.Loss", "keras.src.losses"),
    "metrics": ("keras.metrics", "keras.metrics.Metric", "keras.src.metrics"),
    "callbacks": ("keras.callbacks", "keras.callbacks.Callback", None),
    "regularizers": ("keras.regularizers", "keras.regularizers.Regularizer", "keras.src.regularizers"),
    "initializers": ("keras.initializers", "keras.initializers.Initializer", "keras.src.initializers"),
    "constraints": ("keras.constraints", "keras.constraints.Constraint", "keras.src.constraints"),
    "activations": ("keras.activations", None, "keras.src.activations"),
}

# Strings `model.compile` accepts case-insensitively on top of `<module>.get`
# (keras/src/trainers/compile_utils.py: get_metric, get_loss).
COMPILE_ALIASES = {"metrics": ["accuracy", "acc"], "losses": ["crossentropy", "ce"]}


def _resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _init_tree(func: Any) -> ast.FunctionDef | None:
    """The AST of a function's definition, or None when its source is unavailable."""
    try:
        source = textwrap.dedent(inspect.getsource(inspect.unwrap(func)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _popped_names(tree: ast.FunctionDef, kwargs_name: str) -> list[str]:
    """Names read out of `**kwargs` by `kwargs.pop("x")`, `kwargs.get("x")` or `"x" in kwargs`."""
    names: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("pop", "get", "setdefault")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwargs_name
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and len(node.ops) == 1
            and isinstance(node.ops[0], ast.In)
            and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id == kwargs_name
        ):
            names.append(node.left.value)
    return names


def _forwarding_call(tree: ast.FunctionDef, kwargs_name: str) -> ast.Call | None:
    """The `...__init__(..., **kwargs)` call that hands `**kwargs` to a parent, if any."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "__init__"
            and any(
                kw.arg is None and isinstance(kw.value, ast.Name) and kw.value.id == kwargs_name for kw in node.keywords
            )
        ):
            return node
    return None


def _uses_leftovers(tree: ast.FunctionDef, kwargs_name: str) -> bool:
    """Whether the body does something with `**kwargs` beyond popping names or rejecting them.

    `kwargs.pop("x")`, `"x" in kwargs`, `if kwargs: raise ...` leave unknown names rejected or
    ignored (so a typo there is worth reporting); storing or passing `kwargs` on means the
    class accepts names we cannot list (`MeanMetricWrapper(fn, **fn_kwargs)`).
    """
    harmless: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("pop", "get", "setdefault"):
            harmless.add(id(node.value))
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            harmless.update(id(c) for c in node.comparators)
        elif isinstance(node, ast.If):
            harmless.update(id(n) for n in ast.walk(node.test))
        elif isinstance(node, ast.Raise):
            harmless.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "warn":
            harmless.update(id(n) for n in ast.walk(node))
    return any(isinstance(n, ast.Name) and n.id == kwargs_name and id(n) not in harmless for n in ast.walk(tree))


def class_signature(cls: type) -> dict[str, Any]:
    """The keyword arguments `cls(...)` accepts, walking the MRO while `**kwargs` is forwarded.

    Args:
        cls: a Keras class.

    Returns:
        `{"args": [...], "required": [...]}`, plus `"any_kwargs": True` when the class
        accepts keyword arguments it does not name.
    """
    args: list[str] = []
    required: list[str] = []
    consumed: set[str] = set()  # parent arguments the child already passes itself
    skip_positional = 0
    first = True
    any_kwargs = False
    for klass in cls.__mro__:
        if klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]  # drop self
        except (TypeError, ValueError):
            any_kwargs = True
            break
        var_kw = next((p for p in params if p.kind is p.VAR_KEYWORD), None)
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        skipped = {p.name for p in positional[:skip_positional]}
        for p in params:
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                continue
            if p.name in args or p.name in consumed or p.name in skipped:
                continue
            args.append(p.name)
            if first and p.default is p.empty:
                required.append(p.name)
        first = False
        if var_kw is None:
            break
        tree = _init_tree(init)
        if tree is None:
            any_kwargs = True
            break
        args.extend(n for n in _popped_names(tree, var_kw.name) if n not in args)
        call = _forwarding_call(tree, var_kw.name)
        if call is None:
            any_kwargs = _uses_leftovers(tree, var_kw.name)
            break
        consumed |= {kw.arg for kw in call.keywords if kw.arg is not None and kw.arg not in args}
        is_super = isinstance(call.func.value, ast.Call)  # super().__init__(...)
        skip_positional = len(call.args) - (0 if is_super else 1)  # Parent.__init__(self, ...)
    entry: dict[str, Any] = {"args": args, "required": required}
    if any_kwargs:
        entry["any_kwargs"] = True
    types = argument_types(cls, args, required)
    if types:
        entry["types"] = types
    return entry


def layer_call(cls: type) -> dict[str, list[str]]:
    """A layer's `call_required` and `call_args` entries (only those that are not empty)."""
    entry = {"call_required": call_required(cls), "call_args": call_arguments(cls)}
    return {key: value for key, value in entry.items() if value}


def _category(module_name: str, base_name: str | None, objects_module: str | None) -> dict:
    module = importlib.import_module(module_name)
    base = _resolve(base_name) if base_name else None
    classes: dict[str, Any] = {}
    if base is not None:
        for name in sorted(dir(module)):
            obj = getattr(module, name, None)
            if name.startswith("_") or not inspect.isclass(obj) or not issubclass(obj, base):
                continue
            classes[name] = class_signature(obj)
            if base_name == "keras.layers.Layer":
                classes[name].update(layer_call(obj))
    identifiers: list[str] = []
    if objects_module is not None:
        identifiers = sorted(importlib.import_module(objects_module).ALL_OBJECTS_DICT)
    return {"classes": classes, "identifiers": identifiers, "ci_identifiers": []}


def build_catalogue() -> dict[str, Any]:
    """Introspects the installed Keras into the catalogue's JSON-ready form."""
    import keras

    categories = {name: _category(*spec) for name, spec in CATEGORIES.items()}
    # Optimizer strings are matched case-insensitively (keras.optimizers.deserialize).
    categories["optimizers"]["ci_identifiers"] = categories["optimizers"]["identifiers"]
    categories["optimizers"]["identifiers"] = []
    for category, aliases in COMPILE_ALIASES.items():
        categories[category]["ci_identifiers"] = sorted(aliases)
    return {
        "format": FORMAT_VERSION,
        "keras_version": keras.__version__,
        "categories": categories,
    }


def render(catalogue: dict[str, Any]) -> str:
    """Stable JSON text: one class per line, so diffs between Keras versions stay readable."""
    dump = lambda obj: json.dumps(obj, sort_keys=True)  # noqa: E731
    lines = ["{", f'  "format": {dump(catalogue["format"])},']
    lines.append(f'  "keras_version": {dump(catalogue["keras_version"])},')
    lines.append('  "categories": {')
    categories = catalogue["categories"]
    for i, (name, cat) in enumerate(sorted(categories.items())):
        lines.append(f"    {dump(name)}: {{")
        lines.append(f'      "ci_identifiers": {dump(cat["ci_identifiers"])},')
        lines.append(f'      "identifiers": {dump(cat["identifiers"])},')
        classes = sorted(cat["classes"].items())
        if not classes:
            lines.append('      "classes": {}')
        else:
            lines.append('      "classes": {')
            for j, (cls, sig) in enumerate(classes):
                comma = "," if j < len(classes) - 1 else ""
                lines.append(f"        {dump(cls)}: {dump(sig)}{comma}")
            lines.append("      }")
        lines.append("    }" + ("," if i < len(categories) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def write_catalogue(path: Path) -> Path:
    """Generates the catalogue from the installed Keras and writes it to `path` atomically."""
    return write_generated(path, render(build_catalogue()))


def write_generated(path: Path, text: str) -> Path:
    """Writes a generated catalogue to `path` atomically (config/ cannot use runs/files.py: the layer rule)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=CATALOGUE_PATH)
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    ns = parser.parse_args(argv)
    if ns.stdout:
        sys.stdout.write(render(build_catalogue()))
    else:
        print(write_catalogue(ns.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
