"""Where training runs: devices, distribution strategy, mixed precision, XLA, seeds, determinism.

`configure_runtime` must run before anything else touches TensorFlow's devices: splitting the
CPU into logical devices (for MirroredStrategy without GPUs) is only possible before that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from dlflow.errors import ConfigError

MIXED_PRECISION_MIN_CAPABILITY = (7, 0)  # Volta and newer have tensor cores for float16


@dataclass
class Runtime:
    """What `configure_runtime` chose, and the strategy to build and fit under."""

    backend: str
    strategy: Any
    strategy_name: str
    devices: list[str]
    gpus: list[dict[str, Any]] = field(default_factory=list)
    mixed_precision: str = "off"
    jit_compile: Any = "auto"
    deterministic: bool = False

    @property
    def replicas(self) -> int:
        return int(getattr(self.strategy, "num_replicas_in_sync", 1))

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the manifest."""
        return {"backend": self.backend, "strategy": self.strategy_name, "replicas": self.replicas,
                "devices": self.devices, "gpus": self.gpus, "mixed_precision": self.mixed_precision,
                "jit_compile": self.jit_compile, "deterministic": self.deterministic}


def select_backend(backend: str) -> None:
    """Set KERAS_BACKEND before Keras is imported (Keras reads it once)."""
    import sys

    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        raise ConfigError(f"Keras is already loaded with another backend; expected {backend}",
                          config_path=("runtime", "backend"))
    if backend == "jax":
        import importlib.util

        if importlib.util.find_spec("jax") is None:
            raise ConfigError("the jax backend needs the 'jax' package, which is not installed "
                              "(pip install jax)", config_path=("runtime", "backend"))
    os.environ["KERAS_BACKEND"] = backend


def configure_runtime(config: Any, seed: int) -> Runtime:
    """Apply the config's runtime section and return what was chosen.

    Args:
        config: the RuntimeConfig (device, strategy, mixed_precision, jit_compile, deterministic).
        seed: seeds Python, NumPy and TensorFlow (keras.utils.set_random_seed).
    """
    select_backend(config.backend)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if config.device == "gpu" and not gpus:
        raise ConfigError("runtime.device is gpu but TensorFlow finds no GPU on this machine; "
                          "use device: auto or cpu", config_path=("runtime", "device"))
    if config.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    gpu_details = [_gpu_details(tf, gpu) for gpu in gpus]

    strategy, name = _strategy(tf, config, gpus)
    policy = _mixed_precision(config.mixed_precision, gpu_details)
    import keras

    keras.mixed_precision.set_global_policy(policy if policy != "off" else "float32")
    keras.utils.set_random_seed(seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if strategy is not None:
        devices = [str(d) for d in strategy.extended.worker_devices]
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")][:1]
    return Runtime(config.backend, strategy, name, devices, gpu_details, policy, config.jit_compile,
                   config.deterministic)


def strategy_scope(runtime: Runtime):
    """The scope to build and compile the model in (a no-op without a strategy)."""
    import contextlib

    return runtime.strategy.scope() if runtime.strategy is not None else contextlib.nullcontext()


def _strategy(tf: Any, config: Any, gpus: list) -> tuple[Any, str]:
    if config.strategy in ("data_parallel", "multi_worker"):
        raise ConfigError(f"strategy '{config.strategy}' uses Keras's distribution API on the jax backend, "
                          f"which this version of dlflow does not run yet; use mirrored or none",
                          config_path=("runtime", "strategy"))
    if config.strategy == "none" or (config.strategy == "auto" and len(gpus) < 2):
        return None, "none"
    if gpus:
        return tf.distribute.MirroredStrategy(), "mirrored"
    # No GPU: split the CPU into logical devices so MirroredStrategy has replicas to mirror.
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * config.logical_cpus)
    except RuntimeError:
        pass  # already initialized: use whatever logical devices exist
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices), "mirrored"


def _mixed_precision(choice: str, gpus: list[dict[str, Any]]) -> str:
    if choice != "auto":
        return choice
    capable = gpus and all(tuple(g.get("compute_capability") or (0, 0)) >= MIXED_PRECISION_MIN_CAPABILITY
                           for g in gpus)
    return "mixed_float16" if capable else "off"


def _gpu_details(tf: Any, gpu: Any) -> dict[str, Any]:
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except Exception:  # noqa: BLE001 - details are informative only
        details = {}
    return {"name": details.get("device_name", gpu.name), "compute_capability": details.get("compute_capability")}
