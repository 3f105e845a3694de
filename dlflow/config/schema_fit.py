"""The `fit:` and `runtime:` sections of the experiment config: training arguments, devices, precision."""

from typing import Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from dlflow.config.schema_base import KerasObject, Section
from dlflow.config.schema_phases import PhaseConfig, settle_phase_epochs

_SECONDS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def backup_interval(value: Any) -> tuple[str, float]:
    """`fit.backup_every` as ('epochs', N) or ('seconds', S): 3, '3' -> 3 epochs; '90s', '2m', '1h' -> seconds."""
    import re

    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return "epochs", float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|epochs?)?\s*", value) if isinstance(value, str) else None
    if match and float(match.group(1)) > 0:
        number, unit = float(match.group(1)), match.group(2) or "epochs"
        if unit.startswith("epoch"):
            if number.is_integer():
                return "epochs", number
        else:
            return "seconds", number * _SECONDS[unit]
    raise ValueError(
        f"expected a number of epochs (e.g. 5) or a time span (e.g. '30s', '2m', '1h'), received {value!r}"
    )


class FitConfig(Section):
    """Arguments of `model.fit` and what "best" means."""

    epochs: int = Field(10, gt=0, description="Passes over the training data.")
    batch_size: int = Field(32, gt=0, description="Samples per gradient step (over all devices).")
    class_weight: Literal["balanced"] | dict[str, float] | None = Field(
        None, description=("Weights of the classes in the loss: balanced, or {class: weight}.")
    )
    monitor: str = Field(
        "val_loss",
        min_length=1,
        description=("A metric training logs: what 'best' means for checkpoints and the verdicts (checked at build)."),
    )
    callbacks: list[KerasObject] = Field(
        [],
        description=("Keras callbacks added to dlflow's own (checkpoints, TensorBoard, CSV log, backup, NaN guard)."),
    )
    allow_unsafe_callbacks: bool = Field(
        False,
        description=(
            "Allow callbacks that reach the network (RemoteMonitor) or wrap others (CallbackList). "
            "Off by default: a config from someone else cannot send your metrics anywhere."
        ),
    )
    verbose: Literal["auto", 0, 1, 2] = Field(
        "auto", description=("model.fit's verbosity; auto: a progress bar at a terminal, a line per epoch elsewhere.")
    )
    backup_every: Union[int, str] = Field(
        "5s",
        description="How often the resumable training state (backup/) is written: every N epochs "
        "(an integer) or at most once per time span ('30s', '2m', '1h'); always also on "
        "Ctrl-C/SIGTERM and at the end. A killed run loses at most one interval.",
    )

    phases: list[PhaseConfig] | None = Field(
        None,
        min_length=1,
        description=(
            "Training in phases (dlflow.config.schema_phases): a frozen backbone, then its top layers; "
            "fit.epochs is their total when left out"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _phase_epochs(cls, data: Any) -> Any:
        return settle_phase_epochs(data)

    @field_validator("backup_every", mode="before")
    @classmethod
    def _interval_parses(cls, v: Any) -> Any:
        backup_interval(v)  # raises ValueError, located at fit.backup_every
        return v

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_keys_are_strings(cls, v: Any) -> Any:
        # YAML reads `{0: 1.0, 1: 5.0}` with int keys; classes are named by strings here.
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v


class RuntimeConfig(Section):
    """Where and how the computation runs."""

    backend: Literal["tensorflow", "jax"] = Field(
        "tensorflow", description=("The Keras 3 backend (multi-machine training uses jax).")
    )
    device: Literal["auto", "cpu", "gpu"] = Field("auto", description="Where to train; auto: a GPU when present.")
    strategy: Literal["auto", "none", "mirrored", "data_parallel", "multi_worker"] = Field(
        "auto", description=("How training spreads over devices; auto: all GPUs when there are several.")
    )
    logical_cpus: int = Field(
        2,
        ge=1,
        description=("CPU devices to split into for strategy mirrored or data_parallel on a machine without GPUs."),
    )
    mixed_precision: Literal["auto", "off", "mixed_float16", "mixed_bfloat16"] = Field(
        "auto", description=("Keras's dtype policy; auto: mixed_float16 on GPUs that gain from it.")
    )
    jit_compile: Literal["auto"] | bool = Field(
        "auto", description=("XLA compilation of the train step; auto: Keras's choice.")
    )
    deterministic: bool = Field(False, description="Bit-identical reruns on the same machine (slower).")

    @model_validator(mode="after")
    def _logical_cpus_take_effect(self) -> "RuntimeConfig":
        if self.logical_cpus != 2 and self.strategy in ("auto", "none"):
            raise ValueError(
                f"logical_cpus: {self.logical_cpus} splits the CPU for strategy: mirrored or "
                f"data_parallel on a machine without GPUs; with strategy: {self.strategy} it would do "
                f"nothing (set the strategy, or remove logical_cpus)"
            )
        return self
