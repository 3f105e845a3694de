"""Which command module defines which command, so that `dlflow <command>` imports and builds only that module.

Joining every module (and Typer building every command's options) is about a twentieth of
`dlflow validate`'s start-up. With no command, an option first, or a name not listed here (a
typo, or a command not yet listed), every module is joined, as before: the answer is the same,
only slower. tests/cli/test_cli_registry.py checks this table against the modules.
"""

from __future__ import annotations

import importlib
from typing import Any

# Module (in help order) -> the commands it defines.
COMMANDS: dict[str, tuple[str, ...]] = {
    "stage_cmds": ("define", "develop"),
    "data_cmds": ("collect",),
    "train_cmds": ("train", "evaluate"),
    "regularize_cmds": ("tune", "cv"),
    "deploy_cmds": ("export", "predict"),
    "serve_cmds": ("serve",),
    "monitor_cmds": ("monitor",),
    "generate_cmds": ("sample",),
    "observe_cmds": ("runs", "report", "tensorboard"),
    "config_cmds": ("validate", "schema"),
}


def modules_for(args: list[str]) -> list[str]:
    """The command modules `dlflow ARGS` needs: the one defining its command, or all of them."""
    first = args[0] if args else ""
    named = [module for module, commands in COMMANDS.items() if first in commands]
    return named or list(COMMANDS)


def register(app: Any, args: list[str]) -> None:
    """Join to `app` the command modules `args` needs (each Typer app added without a name: top-level commands)."""
    wanted = modules_for(args)
    joined = [group.typer_instance for group in app.registered_groups]
    apps = [importlib.import_module(f"dlflow.cli.{module}").app for module in wanted]
    if joined == apps:
        return
    app.registered_groups.clear()
    for module_app in apps:
        app.add_typer(module_app)
