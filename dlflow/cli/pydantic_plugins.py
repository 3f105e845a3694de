"""No search for pydantic plugins when they are off.

dlflow's config models use no pydantic plugins, so cli/main.py turns them off
(`PYDANTIC_DISABLE_PLUGINS=1`, unless the user set it). pydantic then skips reading every
package's entry points, but still imports its plugin loader, and with it `importlib.metadata` and
the email package: about a sixteenth of `dlflow validate`. With plugins off the loader's only
answer is "no plugins", so it is given that answer instead of being imported.
"""

from __future__ import annotations

import os
import sys
import types

LOADER = "pydantic.plugin._loader"
OFF = ("__all__", "1", "true")  # the values pydantic's loader reads as "all plugins off"


def skip_plugin_search() -> None:
    """When pydantic plugins are off and pydantic's plugin loader is not yet imported, answer for it."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in OFF or LOADER in sys.modules:
        return
    loader = types.ModuleType(LOADER, "pydantic's plugin loader while plugins are off (dlflow.cli.pydantic_plugins)")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = loader


def _no_plugins() -> tuple[()]:
    return ()
