"""Argument types and call arguments for the Keras catalogue (used by `make_catalogue` only).

Keras does not annotate its constructors, so a keyword argument's type is read from what Keras
itself says about it:

- its default: `use_bias=True` is a bool, `patience=0` an int, `min_delta=0.0` a float;
- for a required argument (no default), its entry in the class docstring's `Args:` section when
  that entry starts by naming one type only: `units: Positive integer, ...` is an int,
  `rate: Float between 0 and 1.` a float; `kernel_size: int or tuple/list of 2 integer` is
  left untyped.

An argument the class's source tests against strings (`isinstance(profile_batch, str)`,
`save_freq == "epoch"`) is left untyped: it takes strings too. Validation rejects a string for
a typed argument, and anything but the type for a typed required argument.

For layers, `call_required` lists `call`'s required arguments when there are several
(`MultiHeadAttention.call(query, value)`): such a layer takes named inputs in a functional node
(`inputs: {query: a, value: b}`), not `inputs: [a, b]`; `call_args` lists the names `call` takes,
for checking a node's named inputs.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

_DOC_TYPES = (
    (re.compile(r"^(a |an |one )?(strictly )?(positive |non-negative |nonnegative )?(int|integer)\b", re.I), "int"),
    (re.compile(r"^(a )?(python )?float\b", re.I), "float"),
    (re.compile(r"^(a )?(bool|boolean)\b", re.I), "bool"),
)
_NOT_ONE_TYPE = re.compile(r"\b(or|tuple|tuples|list|lists|none|string|str|dict|callable|tensor|array)\b", re.I)


def _default_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return None


def _docstring_args(cls: type) -> dict[str, str]:
    """`name -> first sentence` of each entry of the class docstring's `Args:` section."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^(Args|Arguments):\s*$(.*?)(?=^\S|\Z)", doc, re.M | re.S)
    if not match:
        return {}
    entries: dict[str, str] = {}
    current = None
    body = textwrap.dedent(match.group(2))
    for line in body.splitlines():
        head = re.match(r"^(\w+)\s*:\s*(.*)$", line)
        if head and not line.startswith(" "):
            current = head.group(1)
            entries[current] = head.group(2)
        elif current is not None and line.strip():
            entries[current] += " " + line.strip()
    return {name: re.split(r"(?<=[.;])\s", text.strip(), maxsplit=1)[0] for name, text in entries.items()}


def _docstring_type(sentence: str) -> str | None:
    for pattern, kind in _DOC_TYPES:
        if pattern.match(sentence):
            return None if _NOT_ONE_TYPE.search(sentence) else kind
    return None


def _string_tested(cls: type) -> set[str]:
    """Names the class's source tests against strings: `isinstance(x, str)`, `x == "auto"`, `x in ("a", "b")`."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            break
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
                if any(isinstance(n, ast.Name) and n.id == "str" for n in ast.walk(node.args[1])):
                    names.add(_name_of(node.args[0]))
            elif isinstance(node, ast.Compare):
                texts = [c for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
                if texts:
                    names.add(_name_of(node.left))
    names.discard("")
    return names


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_")
    return ""


def argument_types(cls: type, args: list[str], required: list[str]) -> dict[str, str]:
    """The type (`int`, `float` or `bool`) of each of `args` Keras says it has (see the module doc)."""
    defaults: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if klass is object or init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        defaults.update({p.name: p.default for p in params if p.default is not p.empty})
    documented = _docstring_args(cls)
    types: dict[str, str] = {}
    for name in args:
        kind = _docstring_type(documented.get(name, "")) if name in required else _default_type(defaults.get(name))
        if kind:
            types[name] = kind
    tested = _string_tested(cls) if types else set()
    return {name: kind for name, kind in types.items() if name not in tested}


def call_required(cls: type) -> list[str]:
    """`call`'s required arguments when there are several (a layer taking named tensors), else []."""
    call = getattr(cls, "call", None)
    try:
        params = list(inspect.signature(call).parameters.values())[1:]  # drop self
    except (TypeError, ValueError):
        return []
    names = [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return names if len(names) > 1 else []


def call_arguments(cls: type) -> list[str]:
    """`call`'s named arguments when it has several (`query`, `value`, `key`, `attention_mask`...), else []."""
    call = getattr(cls, "call", None)
    try:
        params = list(inspect.signature(call).parameters.values())[1:]  # drop self
    except (TypeError, ValueError):
        return []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return names if len(names) > 1 else []
