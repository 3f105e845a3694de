"""`dlflow validate`: every check a config allows without TensorFlow and without loading the data.

The config package checks the structure, types, Keras class names and arguments (and their
int/float/bool types) and the functional graph; here the functional graph's inputs are also
checked against the names the data source can give (a CSV header, an .npz's array names, a
folder's kind), read cheaply. What needs the data's contents or a built model is checked by
`train` before its run directory exists; `validate` says which.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from dlflow.config.problems import did_you_mean
from dlflow.errors import ConfigError

CHECKED = ["structure and types", "Keras names, arguments and argument types", "functional graph"]
AT_BUILD = [
    "the data's contents (column types, labels, missing values)",
    "tensor shapes through the layers",
    "argument values Keras checks itself",
]


def validate_config(
    path: str | os.PathLike,
    overrides: Iterable[str] = (),
    *,
    resolved: bool = False,
    build: bool = False,
    quiet_tf: bool = False,
    log: Any = None,
) -> dict[str, Any]:
    """Validate a config file (no TensorFlow import unless `build`).

    Args:
        path: the config file.
        overrides: `--set` values, `PATH=VALUE`.
        resolved: also return the resolved config (defaults filled, overrides applied), as
            `resolved` (plain data) and `resolved_yaml` (what a run directory's config.yaml holds).
        build: also load the data and do `train`'s dry build (model, compile, one batch; see
            `dlflow.workflow.dry_build`); nothing is written.
        quiet_tf: with `build`, load TensorFlow with its start-up noise silenced (the CLI).
        log: receives the dry build's progress lines.

    Returns:
        {"config", "valid": True, "name", "model_api", "checked", "checked_at_build"}; with
        `build`, `checked_at_build` is empty and `built` holds the one batch's loss and metrics.

    Raises:
        ConfigError: one line per problem, `file:line:col: path: message`.
    """
    from dlflow.config import load_config

    loaded = load_config(path, list(overrides))
    checked = list(CHECKED)
    known = _data_inputs(loaded)
    if known is not None:
        checked.append("functional inputs against the data's input names")
    result = {
        "config": str(loaded.path),
        "valid": True,
        "name": loaded.config.name,
        "model_api": loaded.config.model.api,
        "checked": checked,
        "checked_at_build": AT_BUILD,
    }
    if resolved:
        from dlflow.config import config_to_dict, dump_config

        result.update(resolved=config_to_dict(loaded.config), resolved_yaml=dump_config(loaded.config))
    if build:
        from dlflow.workflow.dry_build import dry_build

        result.update(
            checked=checked + ["the data, the built model and one training batch"],
            checked_at_build=[],
            built=dry_build(loaded, log=log, quiet_tf=quiet_tf),
        )
    return result


def _data_inputs(loaded: Any) -> list[str] | None:
    """Checks `model.functional.inputs` against the data's input names; returns those names (or None)."""
    graph = loaded.config.model.functional
    if graph is None:
        return None
    from dlflow.data.peek import input_names

    known = input_names(loaded.config.data)
    if known is None:
        return None
    written = loaded.raw.get("model", {}).get("functional", {}).get("inputs")
    problems = []
    for i, name in enumerate(graph.inputs):
        if name not in known:
            path = (
                ("model", "functional", "inputs", i) if isinstance(written, list) else ("model", "functional", "inputs")
            )
            problems.append(
                f"{loaded.where(path)}: unknown input {name!r}{did_you_mean(name, known)}; "
                f"the data's inputs are: {', '.join(known)}"
            )
    if problems:
        raise ConfigError(problems)
    return known
