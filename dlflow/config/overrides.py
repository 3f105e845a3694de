"""`--set PATH=VALUE` overrides, applied to the raw config before validation.

VALUE is read as YAML (`5`, `3e-4`, `true`, `[1, 2]`, `{a: 1}`, `relu`). Missing mappings on
the way are created. Where the config has an identifier string or another class and the path
names a class, the class takes its place, so the override means what it says:

```
optimizer: adam   +  --set compile.optimizer.Adam.learning_rate=3e-4
               ->    optimizer: {Adam: {learning_rate: 3.0e-4}}
```

Problems found later in an overridden value are reported at `--set PATH` instead of a
file position (see `Positions.overrides`).
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

import yaml

from dlflow.config.keras_object import is_class_mapping
from dlflow.config.paths import ConfigPath, format_path, parse_path
from dlflow.config.yaml_loader import Positions, parse_scalar
from dlflow.errors import ConfigError


class OverrideError(ValueError):
    """An override that cannot be applied; the message says why."""


def _is_class_name(key: Any) -> bool:
    return isinstance(key, str) and key[:1].isupper()


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("\n...\n").strip()


def _child_key(node: Any, key: str | int, where: ConfigPath) -> str | int:
    """The key or index to use in `node` for `key`, checking indices against the list."""
    if isinstance(node, list):
        if not isinstance(key, int):
            raise OverrideError(f"{format_path(where)} is a list: expected an index such as [0], received {key!r}")
        if not -len(node) <= key < len(node):
            raise OverrideError(f"index {key} is out of range: {format_path(where)} has {len(node)} items")
        return key % len(node)
    return key


def set_path(data: dict, path: ConfigPath, value: Any, positions: Positions, origin: str) -> None:
    """Sets `value` at `path` inside `data`, creating mappings on the way.

    Args:
        data: the raw config, changed in place.
        path: where to set the value.
        value: the new value.
        positions: records `origin` for the paths the override sets or creates.
        origin: the text naming the override in messages, e.g. `--set fit.epochs`.

    Raises:
        OverrideError: an index is out of range, or the path goes through a plain value.
    """
    node: Any = data
    here: ConfigPath = ()
    for i, key in enumerate(path):
        key = _child_key(node, key, here)
        here = here + (key,)
        last = i == len(path) - 1
        if last:
            node[key] = value
            positions.forget(here)
            positions.overrides[here] = origin
            return
        following = path[i + 1]
        child = node.get(key) if isinstance(node, dict) else node[key]
        replace = child is None or (
            _is_class_name(following)
            and (isinstance(child, str) or (is_class_mapping(child) and following not in child))
        )
        if replace:
            child = {}
            node[key] = child
            positions.forget(here)
            positions.overrides[here] = origin
        elif not isinstance(child, (dict, list)):
            raise OverrideError(
                f"cannot set {format_path(path[i + 1 :])!r} inside {format_path(here)}: "
                f"expected a mapping or a list there, received {_describe(child)}"
            )
        node = child


def split_override(text: str) -> tuple[str, str]:
    """Splits `PATH=VALUE` at the first `=`.

    Raises:
        OverrideError: there is no `=`.
    """
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise OverrideError(f"expected PATH=VALUE (e.g. fit.epochs=5), received {text!r}")
    return path.strip(), value.strip()


def apply_overrides(raw: dict, overrides: Iterable[str], positions: Positions) -> dict:
    """Applies `--set PATH=VALUE` overrides to a copy of the raw config.

    Args:
        raw: the config as read from the file.
        overrides: `PATH=VALUE` strings, applied in order (a later one wins).
        positions: the file positions; updated so overridden paths point at `--set PATH`.

    Returns:
        The overridden copy of `raw`.

    Raises:
        ConfigError: one line per override that cannot be applied, `--set PATH: why`.
    """
    data = copy.deepcopy(raw)
    problems: list[str] = []
    for text in overrides:
        try:
            path_text, value_text = split_override(text)
        except OverrideError as error:
            problems.append(f"--set {text}: {error}")
            continue
        origin = f"--set {path_text}"
        try:
            path = parse_path(path_text)
            value = parse_scalar(value_text)
            set_path(data, path, value, positions, origin)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            problems.append(f"{origin}: expected a YAML value, received {value_text!r} ({problem})")
        except (OverrideError, ValueError) as error:
            problems.append(f"{origin}: {error}")
    if problems:
        raise ConfigError(problems)
    return data


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A raw config's leaves by their `--set` paths: `{"fit.epochs": 30, "model.sequential[1].Dense.units": 64}`.

    A list of scalars stays one value (`export.formats`); a list holding mappings or lists is
    walked item by item.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}
