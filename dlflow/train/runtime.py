"""Where training runs: backend, devices, distribution, mixed precision, XLA, seeds, determinism.

Two engines spread training over several devices (docs/distributed.md):
- the TensorFlow backend uses `tf.distribute.MirroredStrategy` over one machine's GPUs (or its
  CPU split into `runtime.logical_cpus` logical devices): strategy `mirrored`;
- the JAX backend uses Keras's distribution API, `keras.distribution.DataParallel`, over one
  machine's devices (`data_parallel`) or over every worker's (`multi_worker`, after
  `dlflow.train.distributed.join_cluster`).

Order matters: `select_backend` (dlflow/train/backend.py) before Keras is imported (importing
TensorFlow imports Keras, which reads KERAS_BACKEND once), then `configure_runtime` before anything
touches the devices.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Any

from dlflow.errors import ConfigError
from dlflow.train.backend import KERAS_DISTRIBUTION_STRATEGIES, select_backend
from dlflow.train.distributed import Worker, shard_batches

MIXED_PRECISION_MIN_CAPABILITY = (7, 0)  # Volta and newer have tensor cores for float16


@dataclass
class Runtime:
    """What `configure_runtime` chose, and the strategy or distribution to build and fit under.

    Args:
        backend: `tensorflow` or `jax`.
        strategy: the tf.distribute strategy (TensorFlow backend), or None.
        strategy_name: none, mirrored, data_parallel or multi_worker.
        devices: the devices training runs on (every worker's, for multi_worker).
        gpus: name and compute capability of each local GPU.
        mixed_precision: the Keras dtype policy in force (`off` for float32).
        jit_compile: `auto` until the model is compiled, then what Keras resolved (see
            `record_jit_compile`).
        deterministic: whether TensorFlow's op determinism is on.
        distribution: the keras.distribution.DataParallel in force (JAX backend), or None.
        worker: this process's place among the workers.
    """

    backend: str
    strategy: Any
    strategy_name: str
    devices: list[str]
    gpus: list[dict[str, Any]] = field(default_factory=list)
    mixed_precision: str = "off"
    jit_compile: Any = "auto"
    deterministic: bool = False
    distribution: Any = None
    worker: Worker = field(default_factory=Worker)

    @property
    def replicas(self) -> int:
        """Model replicas training in sync (each gets batch_size / replicas samples of a batch)."""
        if self.distribution is not None:
            return int(self.distribution.device_mesh.devices.size)
        return int(getattr(self.strategy, "num_replicas_in_sync", 1))

    @property
    def is_chief(self) -> bool:
        """True on the process that writes the run directory."""
        return self.worker.is_chief

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the manifest."""
        return {
            "backend": self.backend,
            "strategy": self.strategy_name,
            "replicas": self.replicas,
            "devices": self.devices,
            "gpus": self.gpus,
            "mixed_precision": self.mixed_precision,
            "jit_compile": self.jit_compile,
            "deterministic": self.deterministic,
            "workers": self.worker.describe(),
        }


def configure_runtime(
    config: Any, seed: int, *, worker: Worker | None = None, batch_size: int | None = None
) -> Runtime:
    """Apply the config's runtime section and return what was chosen.

    Args:
        config: the RuntimeConfig (backend, device, strategy, logical_cpus, mixed_precision,
            jit_compile, deterministic).
        seed: seeds Python, NumPy, TensorFlow and Keras (keras.utils.set_random_seed); the same
            on every worker.
        worker: this process's place (from `join_cluster`); one worker when None.
        batch_size: the global batch size, checked to split evenly over a Keras distribution's
            replicas (tf.distribute splits uneven batches itself).
    """
    select_backend(config.backend, config)
    worker = worker or Worker()
    if config.strategy == "multi_worker" and not worker.distributed and not _cluster_joined():
        raise ConfigError(
            "strategy multi_worker trains over several processes and only `dlflow train` starts "
            "them (--coordinator, --num-workers, --worker-index); use data_parallel on one machine",
            config_path=("runtime", "strategy"),
        )
    if config.backend == "jax":
        runtime = _jax_runtime(config, worker)
    else:
        runtime = _tensorflow_runtime(config)
    import keras

    keras.mixed_precision.set_global_policy(runtime.mixed_precision if runtime.mixed_precision != "off" else "float32")
    keras.utils.set_random_seed(seed)
    if config.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    if batch_size is not None and runtime.distribution is not None and batch_size % runtime.replicas:
        raise ConfigError(
            f"the global batch is split evenly over {runtime.replicas} replicas: expected a multiple "
            f"of {runtime.replicas}, received {batch_size}",
            config_path=("fit", "batch_size"),
        )
    return runtime


def _tensorflow_runtime(config: Any) -> Runtime:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if config.device == "gpu" and not gpus:
        raise ConfigError(
            "runtime.device is gpu but TensorFlow finds no GPU on this machine; use device: auto or cpu",
            config_path=("runtime", "device"),
        )
    if config.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    gpu_details = [_tf_gpu_details(tf, gpu) for gpu in gpus]
    strategy, name = _tf_strategy(tf, config, gpus)
    if strategy is not None:
        devices = [str(d) for d in strategy.extended.worker_devices]
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")][:1]
    platform = "gpu" if gpus else "cpu"
    return Runtime(
        "tensorflow",
        strategy,
        name,
        devices,
        gpu_details,
        _mixed_precision(config.mixed_precision, platform, gpu_details),
        config.jit_compile,
        config.deterministic,
    )


def _tf_strategy(tf: Any, config: Any, gpus: list) -> tuple[Any, str]:
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


def _jax_runtime(config: Any, worker: Worker) -> Runtime:
    import jax
    import keras

    _hide_gpus_from_tensorflow()
    platform = jax.default_backend()  # cpu, gpu or tpu (JAX_PLATFORMS=cpu for device: cpu)
    if config.device == "gpu" and platform == "cpu":
        raise ConfigError(
            "runtime.device is gpu but JAX finds no GPU on this machine (is jax[cuda] installed?); "
            "use device: auto or cpu",
            config_path=("runtime", "device"),
        )
    local = jax.local_devices()
    gpu_details = [_jax_gpu_details(d) for d in local] if platform == "gpu" else []
    strategy = config.strategy
    if strategy == "auto":
        strategy = "data_parallel" if platform != "cpu" and len(local) > 1 else "none"
    distribution = None
    if strategy in KERAS_DISTRIBUTION_STRATEGIES:
        # dlflow shards the input itself (shard_batches), evenly, so every worker takes equal steps.
        devices = jax.devices() if strategy == "multi_worker" else local
        distribution = keras.distribution.DataParallel(
            devices=[f"{d.platform}:{d.id}" for d in devices], auto_shard_dataset=False
        )
        keras.distribution.set_distribution(distribution)
        names = [str(d) for d in devices]
    else:
        keras.distribution.set_distribution(None)
        names = [str(local[0])]
    return Runtime(
        "jax",
        None,
        strategy,
        names,
        gpu_details,
        _mixed_precision(config.mixed_precision, platform, gpu_details),
        config.jit_compile,
        config.deterministic,
        distribution,
        worker,
    )


def _cluster_joined() -> bool:
    if "jax" not in sys.modules:
        return False
    import jax

    return jax.distributed.is_initialized()


def _hide_gpus_from_tensorflow() -> None:
    """On the JAX backend TensorFlow only runs tf.data, on the CPU."""
    import tensorflow as tf

    try:
        tf.config.set_visible_devices([], "GPU")
    except (RuntimeError, ValueError):
        pass  # TensorFlow's devices are already initialized; TF_FORCE_GPU_ALLOW_GROWTH keeps it small


def strategy_scope(runtime: Runtime):
    """The scope to build and compile the model in (a no-op without a tf.distribute strategy).

    A Keras distribution (JAX backend) is global: variables created while it is set are laid
    out over its devices, no scope needed.
    """
    return runtime.strategy.scope() if runtime.strategy is not None else contextlib.nullcontext()


def record_jit_compile(runtime: Runtime, model: Any) -> None:
    """Record what Keras resolved `jit_compile` to on the compiled model (for the manifest).

    Keras's `auto` (keras/src/trainers/trainer.py) compiles with XLA when every layer supports it,
    except with TensorFlow on a CPU-only machine, under a tf.distribute strategy, or with op
    determinism on: where XLA is measured to pay off. JAX always compiles (`jax.jit`); with
    jit_compile false it runs op by op.
    """
    runtime.jit_compile = bool(model.jit_compile)


def check_backend_supports(runtime: Runtime, model: Any) -> None:
    """Raise a ConfigError when the model holds what its backend cannot run inside a model.

    String inputs and the lookup and hashing preprocessing layers (StringLookup, IntegerLookup,
    TextVectorization, Hashing, HashedCrossing) run TensorFlow ops: inside a model they need the
    TensorFlow backend (JAX has no strings, and cannot trace TensorFlow's lookup tables).
    """
    if runtime.backend != "jax":
        return
    import keras

    tf_only = (
        keras.layers.StringLookup,
        keras.layers.IntegerLookup,
        keras.layers.TextVectorization,
        keras.layers.Hashing,
        keras.layers.HashedCrossing,
    )
    found = [
        f"{type(layer).__name__} '{layer.name}'"
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, tf_only)
    ]
    found += [
        f"the string input '{t.name}'"
        for t in getattr(model, "inputs", None) or []
        if "string" in str(getattr(t, "dtype", ""))
    ]
    if found:
        raise ConfigError(
            f"the jax backend cannot run {', '.join(dict.fromkeys(found[:3]))} inside the model "
            f"(string and lookup preprocessing runs TensorFlow ops); use runtime.backend: tensorflow",
            config_path=("runtime", "backend"),
        )


def input_pipeline(runtime: Runtime, dataset: Any, *, batch_size: int, samples: int | None = None) -> Any:
    """The batches this process feeds to fit: under a Keras distribution, its equal share of each.

    Args:
        dataset: global batches of `batch_size` samples (`to_tf_dataset`).
        samples: samples in the dataset when known (keeps the number of steps known).
    """
    if runtime.distribution is None:
        return dataset
    return shard_batches(
        dataset, replicas=runtime.replicas, worker=runtime.worker, batch_size=batch_size, samples=samples
    )


def release_distribution(runtime: Runtime) -> None:
    """Unset the Keras distribution after fit, so what follows runs in this process alone.

    Under a distribution every batch must split evenly over the devices and saving, evaluating
    or predicting is a collective all workers join; after fit, one process predicts or saves on
    its own (the model's variables keep their replicated values).
    """
    if runtime.distribution is not None:
        import keras

        keras.distribution.set_distribution(None)


def _mixed_precision(choice: str, platform: str, gpus: list[dict[str, Any]]) -> str:
    """The dtype policy: `auto` picks mixed_float16 on GPUs with tensor cores, mixed_bfloat16 on TPUs."""
    if choice != "auto":
        return choice
    if platform == "tpu":
        return "mixed_bfloat16"
    capable = gpus and all(tuple(g.get("compute_capability") or (0, 0)) >= MIXED_PRECISION_MIN_CAPABILITY for g in gpus)
    return "mixed_float16" if capable else "off"


def _tf_gpu_details(tf: Any, gpu: Any) -> dict[str, Any]:
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except Exception:  # noqa: BLE001 - details are informative only
        details = {}
    return {"name": details.get("device_name", gpu.name), "compute_capability": details.get("compute_capability")}


def _jax_gpu_details(device: Any) -> dict[str, Any]:
    capability = getattr(device, "compute_capability", None)  # "8.0" on CUDA devices
    try:
        capability = tuple(int(p) for p in str(capability).split("."))[:2] if capability else None
    except ValueError:
        capability = None
    return {"name": getattr(device, "device_kind", str(device)), "compute_capability": capability}
