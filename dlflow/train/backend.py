"""Keras's backend, chosen before Keras is imported (Keras reads KERAS_BACKEND once).

`select_backend` runs before anything imports Keras or TensorFlow; `dlflow.train.runtime.configure_runtime`
then sets up the devices.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from dlflow.errors import ConfigError

HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"
KERAS_DISTRIBUTION_STRATEGIES = ("data_parallel", "multi_worker")  # the JAX backend's


def select_backend(backend: str, runtime: Any = None) -> None:
    """Choose Keras's backend before Keras is imported (Keras reads KERAS_BACKEND once).

    Importing TensorFlow imports Keras, so this runs before TensorFlow loads too.

    Args:
        backend: `tensorflow` or `jax`.
        runtime: the config's runtime section; on the JAX backend it also sets, before JAX
            starts, the CPU's device count for `data_parallel` without GPUs (`logical_cpus`)
            and the visible platform for `device: cpu`.
    """
    if runtime is not None:
        check_strategy(runtime)
    loaded = _loaded_backend()
    if loaded is not None and loaded != backend:
        hint = (
            f" (KERAS_BACKEND={os.environ['KERAS_BACKEND']} in the environment? dlflow takes the backend from "
            f"runtime.backend: unset it)"
            if os.environ.get("KERAS_BACKEND", backend) != backend
            else ""
        )
        raise ConfigError(
            f"Keras is already loaded with the {loaded} backend in this process; expected {backend}" + hint,
            config_path=("runtime", "backend"),
        )
    if backend == "jax":
        import importlib.util

        if importlib.util.find_spec("jax") is None:
            raise ConfigError(
                "the jax backend needs the 'jax' package, which is not installed (pip install jax)",
                config_path=("runtime", "backend"),
            )
        # TensorFlow only feeds tf.data here: keep it from reserving GPU memory JAX will use.
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
        if runtime is not None and loaded is None:
            _jax_devices_before_start(runtime)
    os.environ["KERAS_BACKEND"] = backend


def check_strategy(runtime: Any) -> None:
    """Raise a ConfigError when runtime.strategy needs the other backend."""
    if runtime.backend == "tensorflow" and runtime.strategy in KERAS_DISTRIBUTION_STRATEGIES:
        why = (
            " (Keras 3 cannot fit under TensorFlow's MultiWorkerMirroredStrategy)"
            if runtime.strategy == "multi_worker"
            else "; on tensorflow use mirrored (one machine)"
        )
        raise ConfigError(
            f"strategy {runtime.strategy} runs on Keras's distribution API, which needs runtime.backend: jax{why}",
            config_path=("runtime", "strategy"),
        )
    if runtime.backend == "jax" and runtime.strategy == "mirrored":
        raise ConfigError(
            "strategy mirrored is TensorFlow's MirroredStrategy, which needs runtime.backend: "
            "tensorflow; on jax use data_parallel (one machine) or multi_worker (several)",
            config_path=("runtime", "strategy"),
        )


def _loaded_backend() -> str | None:
    """The backend of the Keras already imported in this process, or None."""
    config = sys.modules.get("keras.src.backend.config")
    return config.backend() if config is not None and hasattr(config, "backend") else None


def _jax_devices_before_start(runtime: Any) -> None:
    if runtime.device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    if runtime.strategy == "data_parallel" and runtime.logical_cpus > 1:
        flags = os.environ.get("XLA_FLAGS", "")
        if HOST_DEVICES_FLAG not in flags:  # only the CPU platform reads it: harmless with GPUs
            os.environ["XLA_FLAGS"] = f"{flags} {HOST_DEVICES_FLAG}={runtime.logical_cpus}".strip()
