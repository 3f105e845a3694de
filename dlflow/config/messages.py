"""Turns pydantic's validation errors into short problems: what was expected, what was received.

pydantic reports an error once per branch of a union, with the branch's type in the location
(`compile.loss.str`, `compile.loss.dict[str,...]`). Here those tags are removed, only the
branch that got deepest into the value is kept, and the branches' expectations are merged:
`compile.loss.priority: expected a string or a mapping, received 5`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional, get_args

from pydantic import BaseModel, ValidationError

from dlflow.config.paths import ConfigPath
from dlflow.config.problems import Problem, describe_value, did_you_mean

_MISSING = object()

# What each pydantic type error expected, in words.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true/false",
    "bool_parsing": "true/false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "mapping_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "none_required": "null",
}

_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}

_NAME_RULE = "letters, digits, '_', '.' and '-', starting with a letter or digit"


@dataclass
class _Error:
    loc: ConfigPath  # the path in the config, union tags removed
    union_root: Optional[ConfigPath]  # where the first union tag was, if any
    type: str
    msg: str
    input: Any
    ctx: dict


def _clean_loc(loc: tuple, data: Any, keep_last: bool) -> tuple[ConfigPath, Optional[ConfigPath]]:
    """Removes union tags from a pydantic location by following it through the data."""
    node = data
    path: list = []
    union_root: Optional[ConfigPath] = None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            key = part if part in node else next((k for k in node if str(k) == str(part)), _MISSING)
            if key is not _MISSING:
                path.append(key)
                node = node[key]
                continue
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
            continue
        if last and keep_last:
            path.append(part)
        elif union_root is None:
            union_root = tuple(path)
    return tuple(path), union_root


def _model_at(path: ConfigPath, model: type[BaseModel]) -> Optional[type[BaseModel]]:
    """The pydantic model describing the mapping at `path`, if one does."""
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        found = _model_in(field.annotation)
        if found is None:
            return None
        model = found
    return model


def _model_in(annotation: Any) -> Optional[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _literal_values(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


def _expected(error: _Error) -> Optional[str]:
    """What a type-like error expected (`an integer`, `one of 'a' or 'b'`), else None."""
    if error.type in _EXPECTED:
        return _EXPECTED[error.type]
    if error.type == "literal_error":
        expected = error.ctx.get("expected", "")
        return expected if " or " not in expected else f"one of {expected}"
    return None


def _constraint_message(error: _Error, path: ConfigPath) -> str:
    received = describe_value(error.input)
    ctx = error.ctx
    if error.type in _BOUNDS:
        key, words = _BOUNDS[error.type]
        return f"expected a value {words} {ctx.get(key)}, received {received}"
    if error.type in ("too_short", "too_long"):
        bound = ctx.get("min_length") if error.type == "too_short" else ctx.get("max_length")
        words = "at least" if error.type == "too_short" else "at most"
        return f"expected {words} {bound} items, received {ctx.get('actual_length', received)}"
    if error.type == "string_pattern_mismatch":
        if path == ("name",):
            return f"expected a name of {_NAME_RULE}, received {received}"
        return f"expected a string matching {ctx.get('pattern')}, received {received}"
    if error.type == "value_error":
        return error.msg.removeprefix("Value error, ")
    if error.type == "assertion_error":
        return error.msg.removeprefix("Assertion failed, ")
    message = error.msg[:1].lower() + error.msg[1:]
    return f"{message}, received {received}"


def _group_problem(path: ConfigPath, errors: list[_Error], model: type[BaseModel]) -> Problem:
    first = errors[0]
    if first.type == "extra_forbidden":
        parent, key = path[:-1], path[-1]
        owner = _model_at(parent, model)
        fields = list(owner.model_fields) if owner is not None else []
        hint = did_you_mean(key, fields) or (f" (expected one of: {', '.join(fields)})" if fields else "")
        what = "unknown top-level key" if not parent else "unknown key"
        return Problem(parent, f"{what} {key!r}{hint}", anchor=path)
    if first.type == "missing":
        parent, key = path[:-1], path[-1]
        if isinstance(key, int):
            return Problem(parent, f"expected an item at index {key}", anchor=parent)
        what = "missing required top-level key" if not parent else "missing required key"
        return Problem(parent, f"{what} {key!r}", anchor=parent)
    value = not isinstance(first.input, dict)
    value_errors = [e for e in errors if e.type in ("value_error", "assertion_error")]
    if value_errors:
        messages = list(dict.fromkeys(_constraint_message(e, path) for e in value_errors))
        return Problem(path, "; ".join(messages), value=value)
    expected = [_expected(e) for e in errors]
    if all(expected):
        phrases = list(dict.fromkeys(expected))
        message = f"expected {' or '.join(phrases)}, received {describe_value(first.input)}"
        literals = [v for e in errors if e.type == "literal_error" for v in _literal_values(e.ctx.get("expected", ""))]
        if literals and isinstance(first.input, str):
            message += did_you_mean(first.input, literals)
        return Problem(path, message, value=value)
    others = [e for e, x in zip(errors, expected) if x is None]
    messages = list(dict.fromkeys(_constraint_message(e, path) for e in others))
    return Problem(path, "; ".join(messages), value=value)


def validation_problems(error: ValidationError, data: dict, model: type[BaseModel]) -> list[Problem]:
    """Translates a pydantic `ValidationError` into problems, one per place in the config.

    Args:
        error: what pydantic raised validating `data`.
        data: the validated input, used to tell config keys from union tags.
        model: the validated model (for "did you mean" among its field names).

    Returns:
        Problems with short "expected ..., received ..." messages.
    """
    errors: list[_Error] = []
    for raw in error.errors(include_url=False):
        loc, root = _clean_loc(raw["loc"], data, keep_last=raw["type"] in ("missing", "extra_forbidden"))
        errors.append(_Error(loc, root, raw["type"], raw["msg"], raw.get("input"), raw.get("ctx") or {}))
    deepest: dict[ConfigPath, int] = {}
    for e in errors:
        if e.union_root is not None:
            deepest[e.union_root] = max(deepest.get(e.union_root, 0), len(e.loc))
    groups: dict[ConfigPath, list[_Error]] = {}
    for e in errors:
        if e.union_root is None or len(e.loc) == deepest[e.union_root]:
            groups.setdefault(e.loc, []).append(e)
    return [_group_problem(path, group, model) for path, group in groups.items()]
