"""The experiment config as pydantic models (DESIGN.md §2). Imports no TensorFlow.

Wherever Keras takes an object the config takes a `KerasObject`: an identifier string
(`adam`, `relu`) or a one-key mapping `{ClassName: {kwargs}}`. The structure is checked here;
class names and keyword arguments are checked against Keras by `dlflow.config.keras_check`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

TASKS = ("binary", "multiclass", "multilabel", "regression")
EXPORT_FORMATS = ("keras", "saved_model", "tflite", "onnx")


def _one_key(value: Any) -> Any:
    if isinstance(value, dict) and len(value) != 1:
        keys = ", ".join(map(str, value)) or "none"
        raise ValueError(f"expected a one-key mapping {{ClassName: {{kwargs}}}}, received keys: {keys}")
    return value


# A Keras object: "relu" or {Dense: {units: 10}} (kwargs may be omitted: {MaxPooling2D: null}).
# The one-key rule is part of the type, so a problem is reported at the item that breaks it.
KerasObject = Union[str, Annotated[dict[str, Union[dict[str, Any], None]], BeforeValidator(_one_key)]]


class Section(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ImageOptions(Section):
    """How image files become tensors."""

    size: tuple[int, int] | None = None  # [height, width]; None keeps the data's own size
    color_mode: Literal["grayscale", "rgb", "rgba"] = "rgb"


class TextOptions(Section):
    """How raw strings become token sequences (TextVectorization, adapted on training data)."""

    max_tokens: int = Field(20000, gt=1)
    sequence_length: int = Field(200, gt=0)
    output_mode: Literal["int", "multi_hot", "count", "tf_idf"] = "int"
    ngrams: int | None = None


class WindowOptions(Section):
    """Sliding windows over a time series (forecasting)."""

    length: int = Field(gt=0)
    horizon: int = Field(1, gt=0)
    stride: int = Field(1, gt=0)
    sampling_rate: int = Field(1, gt=0)


class SplitConfig(Section):
    """The holdout split: fractions of the whole data set."""

    validation: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.15, ge=0.0, lt=1.0)
    stratify: bool = True

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> "SplitConfig":
        if self.validation + self.test >= 0.9:
            raise ValueError(
                f"validation + test must leave training data: expected a sum below 0.9, "
                f"received {self.validation + self.test:g}"
            )
        return self


class MissingConfig(Section):
    """What to do with missing values, per column type."""

    numeric: Literal["mean", "median", "constant", "error"] = "mean"
    categorical: Literal["most_frequent", "constant", "error"] = "most_frequent"


class DataConfig(Section):
    """Where the data comes from and how it is split."""

    source: str
    format: Literal[
        "auto", "csv", "tsv", "parquet", "npz", "image_dir", "text_dir", "timeseries", "builtin"
    ] = "auto"
    target: str | list[str] | None = None
    features: dict[str, Literal["numeric", "categorical", "text", "ignore"]] | None = None
    image: ImageOptions | None = None
    text: TextOptions | None = None
    window: WindowOptions | None = None
    split: SplitConfig = SplitConfig()
    missing: MissingConfig = MissingConfig()
    augment: list[KerasObject] = []


class FunctionalConfig(Section):
    """A named graph of layers: each node is {ClassName: kwargs, inputs: name | [names]}."""

    inputs: list[str]
    layers: dict[str, dict[str, Any]]
    outputs: list[str]

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ModelConfig(Section):
    """Exactly one of `sequential`, `functional` or `factory`."""

    sequential: list[KerasObject] | None = None
    functional: FunctionalConfig | None = None
    factory: str | None = None  # "module:callable"; runs your code
    args: dict[str, Any] = {}

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

    optimizer: KerasObject = "adam"
    loss: KerasObject | dict[str, KerasObject] | None = None
    loss_weights: dict[str, float] | list[float] | None = None
    metrics: list[KerasObject] | dict[str, list[KerasObject]] | None = None


class FitConfig(Section):
    """Arguments of `model.fit` and what "best" means."""

    epochs: int = Field(10, gt=0)
    batch_size: int = Field(32, gt=0)
    class_weight: Literal["balanced"] | dict[str, float] | None = None
    monitor: str = "val_loss"
    callbacks: list[KerasObject] = []
    verbose: Literal["auto", 0, 1, 2] = "auto"

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_keys_are_strings(cls, v: Any) -> Any:
        # YAML reads `{0: 1.0, 1: 5.0}` with int keys; classes are named by strings here.
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v


class RuntimeConfig(Section):
    """Where and how the computation runs."""

    backend: Literal["tensorflow", "jax"] = "tensorflow"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    strategy: Literal["auto", "none", "mirrored", "data_parallel", "multi_worker"] = "auto"
    logical_cpus: int = Field(2, ge=1)  # CPU devices to split into for `strategy: mirrored` without GPUs
    mixed_precision: Literal["auto", "off", "mixed_float16", "mixed_bfloat16"] = "auto"
    jit_compile: Literal["auto"] | bool = "auto"
    deterministic: bool = False


class TFLiteOptions(Section):
    """TFLite conversion options."""

    quantize: Literal["none", "dynamic", "float16", "int8"] = "none"


class ExportConfig(Section):
    """Which artifacts `dlflow export` writes by default."""

    formats: list[Literal["keras", "saved_model", "tflite", "onnx"]] = list(EXPORT_FORMATS)
    tflite: TFLiteOptions = TFLiteOptions()


class ExperimentConfig(Section):
    """A whole experiment: data, model, compile, fit, runtime, export."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 1337
    task: Literal["binary", "multiclass", "multilabel", "regression"] | None = None
    data: DataConfig
    model: ModelConfig
    compile: CompileConfig = CompileConfig()
    fit: FitConfig = FitConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    export: ExportConfig = ExportConfig()
    search: dict[str, Any] | None = None  # `dlflow tune`'s search space (see the tuning docs)
