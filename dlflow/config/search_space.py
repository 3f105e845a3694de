"""The `search:` block's paths, checked and applied without TensorFlow (for `dlflow tune`).

Each key of `search.space` is a config path, as for `--set`; a trial's config is the base config
with the trial's values set at those paths (`trial_config`), validated like any config.
"""

from __future__ import annotations

from typing import Any, Sequence

from dlflow.config.keras_object import is_class_mapping
from dlflow.errors import ConfigError

# Config paths a trial cannot vary: trials share the loaded data, its frozen split, the name.
FIXED_PATHS = ("name", "search", "data", "runtime", "export")
VARIABLE_DATA_PATHS = ("augment",)  # data.augment builds layers inside the model: it may vary


def check_search_config(loaded: Any) -> None:
    """Check a loaded config for tuning: it needs a `search:` block whose paths lead into the config.

    Imports no TensorFlow, so the CLI reports config problems before TensorFlow loads.

    Raises:
        ConfigError: no search block, a path that does not lead into the config (an index out
            of range, a class other than the one written there), or a value of the space that
            makes the config invalid.
    """
    if loaded.config.search is None:
        raise ConfigError(
            f"{loaded.path}: expected a search: block for dlflow tune, e.g.\n"
            f"search:\n  tuner: random\n  max_trials: 8\n  space:\n"
            f"    compile.optimizer.Adam.learning_rate: {{float: [1.0e-4, 1.0e-2], log: true}}"
        )
    check_search_space(loaded)


def check_search_space(loaded: Any) -> None:
    """Check that each key of `search.space` leads into the config and each value range is valid there.

    A key must name a place the config has (or a keyword argument of a class it has): an index
    in range, the class written at that index. The low and high ends of each range and every
    choice are set at their path and the config validated, as a trial would be.

    Raises:
        ConfigError: one located line per problem.
    """
    from dlflow.config import config_to_dict, parse_path

    config = loaded.config
    resolved = config_to_dict(config)
    problems = []
    for key, dimension in config.search.space.items():
        here = ("search", "space", key)
        try:
            path = parse_path(key)
        except ValueError:
            continue  # reported when the config was loaded
        problem = fixed_path_problem(path) or path_problem(resolved, path)
        if problem is None:
            for value in corner_values(dimension):
                try:
                    trial_config(loaded, {key: value})
                except ConfigError as error:
                    problem = f"with {one_line_yaml(value)}: {error.problems[0].removeprefix(f'--set {key}: ')}"
                    break
        if problem:
            problems.append(f"{loaded.where(here)}: {problem}")
    objective = config.search.objective
    if objective.startswith("val_") and config.data.split.validation == 0:
        problems.append(
            f"{loaded.where(('search', 'objective'))}: '{objective}' needs validation data, "
            f"but data.split.validation is 0"
        )
    if problems:
        raise ConfigError(problems)


def trial_config(loaded: Any, values: dict[str, Any], seed: int | None = None) -> Any:
    """The config with `values` set at their paths (`--set` semantics), validated like any config.

    The file is not read again: later edits of it do not reach the trials.

    Args:
        loaded: the base config (the user's `--set` overrides applied).
        values: config path -> value (plain YAML values, Keras objects included).
        seed: a seed for this execution (another initialisation of the same trial).
    """
    from dlflow.config import with_overrides

    sets = [f"{key}={one_line_yaml(value)}" for key, value in values.items()]
    if seed is not None:
        sets.append(f"seed={seed}")
    return with_overrides(loaded, sets)


def encoded_choices(search: Any) -> set[str]:
    """Choices KerasTuner cannot hold as they are (mappings, lists, mixed types): tried as YAML text."""
    out = set()
    for key, dim in search.space.items():
        if dim.kind != "choice":
            continue
        types = {type(v) for v in dim.choice}
        if len(types) > 1 or not types <= {int, float, str, bool}:
            out.add(key)
    return out


def corner_values(dimension: Any) -> list[Any]:
    """The values that bound a dimension: both ends of a range, every choice."""
    return list(dimension.bounds) if dimension.kind != "choice" else list(dimension.choice)


def fixed_path_problem(path: tuple) -> str | None:
    if path[0] not in FIXED_PATHS or (path[0] == "data" and len(path) > 1 and path[1] in VARIABLE_DATA_PATHS):
        return None
    if path[0] == "data":
        return (
            "trials share the experiment's loaded data and frozen split, so data settings cannot vary "
            "per trial (data.augment can)"
        )
    return f"'{path[0]}' cannot vary per trial: expected a path into data.augment, model, compile or fit"


def path_problem(resolved: dict, path: tuple) -> str | None:
    """Why `path` does not lead into the resolved config, or None when it does.

    Missing mappings on the way are fine (keyword arguments left at their defaults); an index
    out of range, a class other than the one written there, or a plain value on the way are not.
    """
    from dlflow.config import format_path

    node: Any = resolved
    for i, key in enumerate(path):
        here = format_path(path[:i])
        if isinstance(key, str) and key[:1].isupper() and i > 0 and class_written(node) is not None:
            written = class_written(node)
            if normalized(written) != normalized(key):
                return f"{here} is {written}, not {key}"
            node = node.get(written) if isinstance(node, dict) else None
        elif isinstance(node, list):
            if not isinstance(key, int):
                return f"{here} is a list: expected an index such as [0], received {key!r}"
            if not -len(node) <= key < len(node):
                return f"index {key} is out of range: {here} has {len(node)} items"
            node = node[key]
        elif isinstance(node, dict):
            node = node.get(key)
        elif node is not None and i < len(path):
            return f"cannot go into {here}: it is the value {node!r}"
        if node is None:
            return None  # created by the override, as with --set
    return None


def class_written(node: Any) -> str | None:
    """The Keras class or identifier written at a config node: `adam`, `{Adam: {...}}`, `Flatten`."""
    if isinstance(node, str):
        return node
    return next(iter(node)) if is_class_mapping(node) else None


def normalized(name: str) -> str:
    return name.replace("_", "").lower()


def one_line_yaml(value: Any) -> str:
    """A value as one line of YAML: `64`, `0.001`, `relu`, `{Adam: {learning_rate: 0.001}}`."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def from_text(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest distinct tail of each searched path, for tables and progress lines.

    `model.sequential[1].Dense.units` -> `Dense.units`, or `[1].Dense.units` when another key
    also ends in `Dense.units`.
    """
    from dlflow.config import format_path, parse_path

    paths = {}
    for key in keys:
        try:
            paths[key] = parse_path(key)
        except ValueError:
            paths[key] = (key,)
    out = {}
    for key, path in paths.items():
        for size in range(min(2, len(path)), len(path) + 1):
            tail = path[-size:]
            if sum(p[-size:] == tail for p in paths.values()) == 1 or size == len(path):
                out[key] = format_path(tail) if not isinstance(tail[0], int) else format_path(("_",) + tail)[1:]
                break
    return out
