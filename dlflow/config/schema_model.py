"""The `model:` and `compile:` sections of the experiment config (Keras objects checked by keras_check)."""

from typing import Any

from pydantic import Field, field_validator, model_validator

from dlflow.config.schema_backbone import BackboneObject
from dlflow.config.schema_base import KerasObject, Section


class FunctionalConfig(Section):
    """A named graph of layers: each node is {ClassName: kwargs, inputs: ...} or {reuse: <node>, inputs: ...}.

    `inputs`: a name or [names] (the layer's first call argument), or {call_argument: name | [names]}
    (`{query: a, value: b}`); `reuse` calls that node's layer again, sharing its weights.
    """

    inputs: list[str] = Field(description="The data's inputs (columns, arrays) the graph starts from.")
    layers: dict[str, dict[str, Any]] = Field(
        description=("Named nodes: {ClassName: kwargs, inputs: name | [names]}, in any order.")
    )
    outputs: list[str] = Field(description="The nodes the model returns; their names match the targets'.")

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ModelConfig(Section):
    """Exactly one of `sequential`, `functional` or `factory`."""

    sequential: list[KerasObject] | None = Field(
        None, description=("Layers in order; inputs and preprocessing come from the data.")
    )
    functional: FunctionalConfig | None = Field(None, description="A named graph of layers (several inputs/outputs).")
    factory: str | None = Field(
        None, description=("'module:callable' returning a keras.Model (subclassing); runs your code.")
    )
    args: dict[str, Any] = Field({}, description="Keyword arguments of the factory.")
    backbone: BackboneObject | None = Field(
        None,
        description=(
            "A keras.applications model under the sequential head: MobileNetV2 or {MobileNetV2: {weights: null}} "
            "(weights: imagenet, null or a .weights.h5 file; include_top is always false), or a KerasHub image "
            "preset: {keras_hub: <preset name or directory>} or {keras_hub: {preset: ..., load_weights: false}}."
        ),
    )

    @field_validator("factory")
    @classmethod
    def _factory_form(cls, v: str | None) -> str | None:
        if v is not None and (v.count(":") != 1 or not all(v.split(":"))):
            raise ValueError(f"expected 'module:callable', received {v!r}")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> "ModelConfig":
        given = [k for k in ("sequential", "functional", "factory") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of sequential, functional, factory; received "
                + (", ".join(given) if given else "none")
            )
        if self.args and self.factory is None:
            raise ValueError("'args' is only for model.factory")
        return self

    @property
    def api(self) -> str:
        """Which model API the config uses: sequential, functional or factory."""
        return next(k for k in ("sequential", "functional", "factory") if getattr(self, k) is not None)


class CompileConfig(Section):
    """Arguments of `model.compile`; loss and metrics default from the task."""

    optimizer: KerasObject = Field("adam", description="A Keras optimizer: a name or {ClassName: kwargs}.")
    loss: KerasObject | dict[str, KerasObject] | None = Field(
        None, description=("A Keras loss, or a mapping per output; left out: the task's usual loss.")
    )
    loss_weights: dict[str, float] | list[float] | None = Field(
        None, description=("Weights of the outputs' losses in the total (several outputs).")
    )
    metrics: list[KerasObject] | dict[str, list[KerasObject]] | None = Field(
        None, description=("Keras metrics, or a mapping per output; left out: the task's usual metric.")
    )
