"""`dlflow <command>` joins only the command module that defines it (dlflow/cli/registry.py)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

from dlflow.cli.registry import COMMANDS, modules_for
from tests.conftest import CONFIGS


def test_the_table_names_every_command_of_every_module():
    found = {}
    for module in COMMANDS:
        app = importlib.import_module(f"dlflow.cli.{module}").app
        assert not app.registered_groups, f"{module}: sub-groups are not in the table"
        found[module] = tuple(info.name or info.callback.__name__.replace("_", "-") for info in app.registered_commands)
    assert found == COMMANDS


def test_unknown_or_missing_commands_join_every_module():
    assert modules_for(["validate", "x.yaml"]) == ["config_cmds"]
    assert modules_for([]) == modules_for(["--runs-dir", "r", "train"]) == modules_for(["trian"]) == list(COMMANDS)


PROBE = """
import sys
from dlflow.cli.main import main
for args in (["validate", "--help"], ["schema", "--help"]):
    try:
        main(args)
    except SystemExit:
        pass
print(sorted(m.rsplit(".", 1)[1] for m in sys.modules if m.startswith("dlflow.cli.") and m.endswith("_cmds")))
"""


def test_validate_imports_only_its_command_module(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Usage: dlflow validate" in done.stdout and "Usage: dlflow schema" in done.stdout
    assert done.stdout.splitlines()[-1] == "['config_cmds']"


PLUGINS = """
import sys
from dlflow.cli.main import main
try:
    main(["validate", sys.argv[1]])
except SystemExit as done:
    assert done.code in (0, None), done.code
print(sorted(m for m in ("importlib.metadata", "email") if m in sys.modules))
"""


def test_validate_does_not_search_for_pydantic_plugins_it_turned_off(tmp_path):
    # dlflow/cli/pydantic_plugins.py: with plugins off, pydantic's loader (importlib.metadata, email) is not imported.
    done = subprocess.run(
        [sys.executable, "-c", PLUGINS, str(CONFIGS / "digits_convnet.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
    on = subprocess.run(
        [sys.executable, "-c", PLUGINS, str(CONFIGS / "digits_convnet.yaml")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": ""},
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.splitlines()[-1] == "['email', 'importlib.metadata']"  # plugins on: pydantic looks for them
