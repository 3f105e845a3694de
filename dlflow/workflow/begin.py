"""How a stage that takes a config begins: load and check it once, settle the runtime, quiet TensorFlow.

```python
from dlflow.workflow.begin import begin

loaded = begin("configs/digits.yaml", ["fit.epochs=2"], quiet_tf=True)
loaded.config.fit.epochs   # 2; Keras's backend is chosen, TensorFlow loaded quietly
```

Config problems are reported before TensorFlow loads (it takes seconds); the stages (train,
develop, tune, cv) call this first and pass the loaded config on, so no stage parses its file twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from dlflow.config import LoadedConfig, load_config
from dlflow.config.located import located_errors
from dlflow.native_output import quiet_tensorflow

ConfigSource = Union[str, Path, LoadedConfig]


def begin(
    config: ConfigSource,
    overrides: Sequence[str] = (),
    *,
    quiet_tf: bool = False,
    cluster: Optional[dict[str, Any]] = None,
    check: Optional[Callable[[LoadedConfig], Optional[LoadedConfig]]] = None,
) -> LoadedConfig:
    """Load and check a stage's config, settle Keras's backend, and (optionally) quiet TensorFlow.

    Args:
        config: the config file, or a config a calling stage already loaded (taken as it is:
            `overrides` are then already applied).
        overrides: `PATH=VALUE` strings applied before validation.
        quiet_tf: import TensorFlow now with its start-up noise silenced (the CLI, unless --verbose).
        cluster: `dlflow train`'s --coordinator, --num-workers and --worker-index values.
        check: the stage's own checks that need no TensorFlow (a search block, a final run's
            plan); it may return the config with more overrides applied (`config.with_overrides`).

    Returns:
        The loaded config.

    Raises:
        ConfigError: the config has problems; UsageError: the stage's check failed.
    """
    loaded = config if isinstance(config, LoadedConfig) else load_config(config, list(overrides))
    if check is not None:
        loaded = check(loaded) or loaded
    prepare_runtime(loaded, cluster)
    if quiet_tf:
        quiet_tensorflow(verbose=False)
    return loaded


def prepare_runtime(loaded: Any, cluster: dict[str, Any] | None = None) -> None:
    """Settle, before TensorFlow loads, what must be: Keras's backend (importing TensorFlow imports
    Keras, which fixes it then), JAX's devices, and whether strategy and cluster options fit.

    Args:
        cluster: `dlflow train`'s --coordinator, --num-workers and --worker-index values.
    """
    from dlflow.train.backend import select_backend
    from dlflow.train.distributed import ClusterOptions, check_cluster

    with located_errors(loaded):
        select_backend(loaded.config.runtime.backend, loaded.config.runtime)
        check_cluster(loaded.config.runtime, ClusterOptions.from_options(cluster))


def shown_name(config: ConfigSource) -> str | Path:
    """The config file as the user named it (for commands printed back, e.g. how to resume)."""
    return config.positions.filename if isinstance(config, LoadedConfig) else config
