"""Loading an experiment config: read, override, validate, resolve; and writing it back.

```python
from dlflow.config import load_config, dump_config

loaded = load_config("configs/digits.yaml", overrides=["fit.epochs=5"])
loaded.config.fit.epochs        # 5
loaded.config.data.source       # 'builtin:digits', or an absolute path for files
(run_dir / "config.yaml").write_text(dump_config(loaded.config))
```

Every problem is reported at once, as one `ConfigError` whose lines are sorted by position:
`configs/digits.yaml:14:7: model.sequential[4].Dense: unknown argument 'unit' (did you mean 'units'?)`.
Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import yaml
from pydantic import BaseModel, ValidationError

from dlflow.config.backbone_check import check_backbone, resolve_weights_path
from dlflow.config.keras_check import check_config
from dlflow.config.messages import validation_problems
from dlflow.config.overrides import apply_overrides
from dlflow.config.paths import ConfigPath, format_path
from dlflow.config.problems import Problem, format_problems
from dlflow.config.safety import check_safety
from dlflow.config.schema import ExperimentConfig
from dlflow.config.yaml_loader import Positions, load_yaml
from dlflow.errors import ConfigError

BUILTIN_PREFIX = "builtin:"


@dataclass
class LoadedConfig:
    """A validated experiment config and where it came from.

    Args:
        config: the validated config; `data.source` is absolute unless it is `builtin:<name>`.
        path: the config file (absolute), or a made-up name for text loaded with `loads_config`.
        raw: the config as written, after `--set` overrides (no defaults, paths as written).
        positions: where each path of `raw` came from (file positions and overrides).
        base_dir: the folder relative paths in the config are resolved against.
    """

    config: ExperimentConfig
    path: Path
    raw: dict[str, Any]
    positions: Positions
    base_dir: Path

    def where(self, path: ConfigPath) -> str:
        """`FILE:LINE:COL: dotted.path` (or `--set PATH: dotted.path`) for a config path.

        For problems found after loading (a missing data file, a bad column), so they are
        reported like validation problems: `ConfigError(f"{loaded.where(p)}: {message}")`.
        The position is the path's own, or its nearest ancestor's when it was not written.
        """
        location = self.positions.describe(tuple(path), value=True)
        dotted = format_path(tuple(path))
        return f"{location}: {dotted}" if dotted else location


def load_config(path: Union[str, os.PathLike], overrides: Iterable[str] = ()) -> LoadedConfig:
    """Loads, overrides and validates an experiment config file.

    Args:
        path: the YAML config file.
        overrides: `PATH=VALUE` strings from `--set`, applied in order before validation.

    Returns:
        The validated config with relative paths resolved against the file's folder.

    Raises:
        ConfigError: the file is missing or unreadable, or the config has problems; all
            problems are listed, one line each, sorted by position.
    """
    file = Path(path)
    shown = str(path)
    try:
        if file.exists() and not (file.is_file() or file.is_dir()):  # a FIFO or device would block or never end
            raise ConfigError(f"{shown}: not a regular file (a FIFO or a device); expected a YAML config file")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: expected a YAML config file, received a folder") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{shown}: cannot read the config file: {error}") from None
    absolute = Path(os.path.abspath(file))
    return loads_config(text, shown, overrides=overrides, base_dir=absolute.parent, path=absolute)


def loads_config(
    text: str,
    filename: str = "config.yaml",
    overrides: Iterable[str] = (),
    base_dir: Optional[Union[str, os.PathLike]] = None,
    path: Optional[Path] = None,
) -> LoadedConfig:
    """Loads, overrides and validates an experiment config from YAML text.

    Args:
        text: the YAML text.
        filename: the name used in messages, and whose stem is the default `name`.
        overrides: `PATH=VALUE` strings, as for `load_config`.
        base_dir: the folder relative paths resolve against; defaults to the current folder.
        path: the file the text came from, recorded in the result (defaults to `filename`).

    Returns:
        The validated config.

    Raises:
        ConfigError: the config has problems (all of them, sorted by position).
    """
    raw, positions = load_yaml(text, filename)
    raw = apply_overrides(raw, list(overrides), positions)
    base = Path(os.path.abspath(base_dir if base_dir is not None else os.getcwd()))
    config = validate(raw, positions, default_name=Path(filename).stem, base_dir=base)
    source = config.data.source
    if not source.startswith(BUILTIN_PREFIX):
        config.data.source = resolve_path(source, base)
    resolve_weights_path(config.model, lambda path: resolve_path(path, base))
    return LoadedConfig(config, path or Path(filename), raw, positions, base)


def with_overrides(loaded: LoadedConfig, overrides: Iterable[str]) -> LoadedConfig:
    """The loaded config with more `PATH=VALUE` overrides applied on top, validated again.

    The file is not read or parsed again: the overrides apply to `loaded.raw` (e.g. the ones
    `dlflow train --final` adds to the user's).

    Raises:
        ConfigError: an override that cannot apply, or a config the overrides make invalid.
    """
    positions = copy.deepcopy(loaded.positions)
    raw = apply_overrides(loaded.raw, list(overrides), positions)
    config = validate(raw, positions, default_name=Path(positions.filename).stem, base_dir=loaded.base_dir)
    if not config.data.source.startswith(BUILTIN_PREFIX):
        config.data.source = resolve_path(config.data.source, loaded.base_dir)
    return LoadedConfig(config, loaded.path, raw, positions, loaded.base_dir)


def validate(
    raw: dict, positions: Positions, default_name: Optional[str] = None, base_dir: Optional[Path] = None
) -> ExperimentConfig:
    """Validates a raw config with pydantic and against Keras, reporting all problems at once.

    Args:
        raw: the config after overrides.
        positions: where its paths came from, to place each problem.
        default_name: the `name` to use when the config has none (the file's stem).
        base_dir: the config's folder (where modules of dotted class names are looked up first).

    Returns:
        The validated config (paths not yet resolved).

    Raises:
        ConfigError: one line per problem, sorted by position.
    """
    data = dict(raw)
    if "name" not in data and default_name is not None:
        data["name"] = default_name
    problems: list[Problem] = []
    config: Optional[ExperimentConfig] = None
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as error:
        problems += validation_problems(error, data, ExperimentConfig)
    if "name" not in raw:
        problems = [
            Problem(p.path, p.message + " (the name comes from the file name; set `name:` to choose one)")
            if p.path == ("name",)
            else p
            for p in problems
        ]
    problems += check_config(raw, base_dir=base_dir) + check_backbone(raw) + non_finite_problems(raw)
    problems += check_safety(raw)
    if problems:
        raise ConfigError(format_problems(problems, positions))
    assert config is not None
    return config


def non_finite_problems(value: Any, path: tuple = ()) -> list[Problem]:
    """A problem for every NaN or infinite number in the raw config (`.nan`, `.inf`, `--set x=nan`).

    No config value takes them: a NaN learning rate, loss weight or class weight would only show up
    later as a diverged run, and Keras's arguments that mean "no bound" take null.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return [Problem(path, f"expected a finite number, received {value}", value=True)]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in non_finite_problems(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in non_finite_problems(item, (*path, index))]
    return []


def resolve_path(path: str, base_dir: Path) -> str:
    """An absolute, normalised form of `path` (with `~` expanded), relative to `base_dir`."""
    expanded = os.path.expanduser(path)
    return os.path.normpath(os.path.join(base_dir, expanded))


def _prune_unset_optionals(model: BaseModel, data: dict) -> dict:
    """Drops `None` sections and options that default to `None`, recursing into sections.

    Only pydantic fields are pruned: a `None` inside user mappings (layer kwargs) is kept.
    """
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None and field.default is None and name in data:
            del data[name]
        elif isinstance(value, BaseModel) and isinstance(data.get(name), dict):
            _prune_unset_optionals(value, data[name])
    return data


class _Dumper(yaml.SafeDumper):
    """Block style, keys in schema order, lists of scalars inline: `size: [28, 28]`."""


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain data: defaults filled, unset optional sections left out."""
    return _prune_unset_optionals(config, config.model_dump(mode="json"))


def dump_config(config: ExperimentConfig) -> str:
    """The resolved config as YAML, defaults filled, re-loadable by `loads_config`.

    Args:
        config: a validated config (e.g. `LoadedConfig.config`).

    Returns:
        YAML text with sections in schema order.
    """
    return yaml.dump(config_to_dict(config), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the experiment config, for editors (`dlflow schema`)."""
    schema = ExperimentConfig.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dlflow experiment config",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def flat_config(config: ExperimentConfig) -> dict[str, Any]:
    """A validated config's values (as config.yaml writes them) by their `--set` paths."""
    from dlflow.config.overrides import flatten

    return flatten(yaml.safe_load(dump_config(config)) or {})
