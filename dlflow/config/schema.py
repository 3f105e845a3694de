"""The experiment config as pydantic models (DESIGN.md §2). Imports no TensorFlow.

Wherever Keras takes an object the config takes a `KerasObject`: an identifier string
(`adam`, `relu`) or a one-key mapping `{ClassName: {kwargs}}`. The structure is checked here;
class names and keyword arguments are checked against Keras by `dlflow.config.keras_check`.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field, PositiveInt, field_validator, model_validator

from dlflow.choices import DATA_FORMATS
from dlflow.config.schema_backbone import BackboneObject
from dlflow.config.schema_base import EXPORT_FORMATS, QUANTIZE_MODES, TASKS, KerasObject, Section  # noqa: F401 (re-exported)
from dlflow.config.schema_phases import PhaseConfig, settle_phase_epochs
from dlflow.config.schema_search import SearchConfig, SearchDimension  # noqa: F401 (re-exported)
from dlflow.config.schema_tfrecord import TFRecordOptions


class ImageOptions(Section):
    """How image files become tensors."""

    size: tuple[PositiveInt, PositiveInt] | None = Field(None, description=(
        "[height, width] every image is resized to; left out: the data's own size (all images alike)."))
    color_mode: Literal["grayscale", "rgb", "rgba"] = Field("rgb", description="Channels the images are read with.")


class TextOptions(Section):
    """How raw strings become token sequences (TextVectorization, adapted on training data).

    `output_mode` left out means `int` (token ids, for an Embedding) for a text folder and
    `tf_idf` (one bag-of-words vector, joined with the other columns) for a table's text column;
    a train run prints and records which one it used.
    """

    max_tokens: int = Field(20000, gt=1, description="Vocabulary size (TextVectorization's max_tokens), "
                                                    "padding and out-of-vocabulary tokens included.")
    sequence_length: int = Field(200, gt=0, description="Tokens per text with output_mode int (longer texts "
                                                        "are cut, shorter ones padded).")
    output_mode: Literal["int", "multi_hot", "count", "tf_idf"] | None = Field(None, description=(
        "int: token ids for an Embedding; multi_hot, count, tf_idf: one bag-of-words vector. "
        "Left out: int for a text folder, tf_idf for a table's text column."))
    ngrams: int | None = Field(None, description="Also count word n-grams up to this length (bag-of-words modes).")
    max_file_bytes: int = Field(5_000_000, gt=0, description=(
        "Largest file a text folder may hold, in bytes; a larger one is a data error naming it."))

    @model_validator(mode="after")
    def _room_for_words(self) -> "TextOptions":
        if self.output_mode in ("int", None) and self.max_tokens < 3:
            raise ValueError(f"max_tokens: {self.max_tokens} leaves no room for a word with output_mode int (the "
                             f"default for text folders; index 0 pads, 1 is out-of-vocabulary): expected at least 3")
        return self


class WindowOptions(Section):
    """Sliding windows over a time series (forecasting)."""

    length: int = Field(gt=0, description="Time steps in each input window.")
    horizon: int = Field(1, gt=0, description="How many steps after the window's end the target is.")
    stride: int = Field(1, gt=0, description="Steps between the starts of consecutive windows.")
    sampling_rate: int = Field(1, gt=0, description="Keep every N-th step inside a window.")


class SplitConfig(Section):
    """The holdout split: fractions of the whole data set."""

    validation: float = Field(0.15, ge=0.0, lt=1.0, description="Share of the data held out for validation.")
    test: float = Field(0.15, ge=0.0, lt=1.0, description="Share of the data held out for `dlflow evaluate`.")
    stratify: bool = Field(True, description="Keep the class balance in every part (classification).")

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

    numeric: Literal["mean", "median", "constant", "error"] = Field("mean", description=(
        "How a missing number is filled (from the training split), or error to refuse it."))
    categorical: Literal["most_frequent", "constant", "error"] = Field("most_frequent", description=(
        "How a missing category is filled (from the training split), or error to refuse it."))
    numeric_constant: float = Field(0.0, description="The fill value of `numeric: constant`.")
    categorical_constant: Union[int, str] = Field("missing", description=(
        "The fill value of `categorical: constant`: a category of its own."))

    @model_validator(mode="after")
    def _constants_need_constant(self) -> "MissingConfig":
        # A fill value other than the default only takes effect with `constant`.
        if self.numeric_constant != 0.0 and self.numeric != "constant":
            raise ValueError(f"numeric_constant is the fill value of `numeric: constant`; numeric is "
                             f"'{self.numeric}', so it would do nothing")
        if self.categorical_constant != "missing" and self.categorical != "constant":
            raise ValueError(f"categorical_constant is the fill value of `categorical: constant`; categorical is "
                             f"'{self.categorical}', so it would do nothing")
        return self


class StreamingConfig(Section):
    """Tables too large for memory are read from disk in chunks, for statistics and for training."""

    enabled: Union[Literal["auto"], bool] = Field("auto", description=(
        "Stream the table from disk; auto: when its estimated size in memory exceeds threshold_mb."))
    threshold_mb: float = Field(1024, gt=0, description="Estimated in-memory size (MB) past which auto streams.")
    chunk_rows: int = Field(100_000, gt=0, description="Rows read (and shuffled together) at a time.")


class DataConfig(Section):
    """Where the data comes from and how it is split."""

    source: str = Field(description="A file or folder path (relative to the config), or builtin:<name>.")
    format: Literal[("auto", *DATA_FORMATS)] = Field("auto", description="How the data is stored; auto: from the source's name.")
    target: str | list[str] | None = Field(None, description=(
        "The target column(s) or array key(s); image and text folders take the class sub-folders; "
        "none: no target (images, text or arrays for a generative factory model with its own train_step)."))
    features: dict[str, Literal["numeric", "categorical", "text", "ignore"]] | None = Field(None, description=(
        "Column types of a table by column name; left out, they are inferred (and recorded)."))
    image: ImageOptions | None = Field(None, description="How image files become tensors.")
    text: TextOptions | None = Field(None, description="How raw strings become token sequences.")
    window: WindowOptions | None = Field(None, description="Sliding windows over a time series.")
    tfrecord: TFRecordOptions | None = Field(None, description="format tfrecord: the records' feature spec.")
    split: SplitConfig = Field(SplitConfig(), description="The train / validation / test split.")
    missing: MissingConfig = Field(MissingConfig(), description="What to do with missing values.")
    streaming: StreamingConfig = Field(StreamingConfig(), description="Reading tables too large for memory.")
    augment: list[KerasObject] = Field([], description=(
        "Keras augmentation layers applied to training batches only, e.g. [{RandomFlip: {mode: horizontal}}]."))
    # Image folders: where decoded images are kept between epochs. memory: in RAM (uint8);
    # disk: in runs/<name>/cache/; none: decoded again every epoch. Left out: memory when the
    # whole decoded folder (height x width x channels bytes per image) fits 1 GiB, else none.
    cache: Literal["memory", "disk", "none"] | None = Field(None, description=(
        "Image folders: where decoded images are kept between epochs (left out: memory when it fits 1 GiB)."))
    # Image folders: a file that fails the header check (truncated, not an image, another format)
    # is an error naming it (error, also when left out), or left out and listed in the data card
    # and manifest (skip).
    on_bad_file: Literal["error", "skip"] | None = Field(None, description=(
        "Image folders: a file that is not a readable image is an error (the default) or skipped and listed."))
    # standardize: regression targets are learned as (y - mean) / std with the training split's
    # moments, and the model ends with the inverse scaling, so it answers in the target's units.
    # Left out: standardize when there is a regression target, none otherwise.
    target_scaling: Literal["standardize", "none"] | None = Field(None, description=(
        "Regression targets learned standardized, answered in their units (left out: standardize for regression)."))


class FunctionalConfig(Section):
    """A named graph of layers: each node is {ClassName: kwargs, inputs: ...} or {reuse: <node>, inputs: ...}.

    `inputs`: a name or [names] (the layer's first call argument), or {call_argument: name | [names]}
    (`{query: a, value: b}`); `reuse` calls that node's layer again, sharing its weights.
    """

    inputs: list[str] = Field(description="The data's inputs (columns, arrays) the graph starts from.")
    layers: dict[str, dict[str, Any]] = Field(description=(
        "Named nodes: {ClassName: kwargs, inputs: name | [names]}, in any order."))
    outputs: list[str] = Field(description="The nodes the model returns; their names match the targets'.")

    @field_validator("inputs", "outputs", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class ModelConfig(Section):
    """Exactly one of `sequential`, `functional` or `factory`."""

    sequential: list[KerasObject] | None = Field(None, description=(
        "Layers in order; inputs and preprocessing come from the data."))
    functional: FunctionalConfig | None = Field(None, description="A named graph of layers (several inputs/outputs).")
    factory: str | None = Field(None, description=(
        "'module:callable' returning a keras.Model (subclassing); runs your code."))
    args: dict[str, Any] = Field({}, description="Keyword arguments of the factory.")
    backbone: BackboneObject | None = Field(None, description=(
        "A keras.applications model under the sequential head: MobileNetV2 or {MobileNetV2: {weights: null}} "
        "(weights: imagenet, null or a .weights.h5 file; include_top is always false), or a KerasHub image "
        "preset: {keras_hub: <preset name or directory>} or {keras_hub: {preset: ..., load_weights: false}}."))

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
    loss: KerasObject | dict[str, KerasObject] | None = Field(None, description=(
        "A Keras loss, or a mapping per output; left out: the task's usual loss."))
    loss_weights: dict[str, float] | list[float] | None = Field(None, description=(
        "Weights of the outputs' losses in the total (several outputs)."))
    metrics: list[KerasObject] | dict[str, list[KerasObject]] | None = Field(None, description=(
        "Keras metrics, or a mapping per output; left out: the task's usual metric."))


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
    raise ValueError(f"expected a number of epochs (e.g. 5) or a time span (e.g. '30s', '2m', '1h'), "
                     f"received {value!r}")


class FitConfig(Section):
    """Arguments of `model.fit` and what "best" means."""

    epochs: int = Field(10, gt=0, description="Passes over the training data.")
    batch_size: int = Field(32, gt=0, description="Samples per gradient step (over all devices).")
    class_weight: Literal["balanced"] | dict[str, float] | None = Field(None, description=(
        "Weights of the classes in the loss: balanced, or {class: weight}."))
    monitor: str = Field("val_loss", min_length=1, description=(
        "A metric training logs: what 'best' means for checkpoints and the verdicts (checked at build)."))
    callbacks: list[KerasObject] = Field([], description=(
        "Keras callbacks added to dlflow's own (checkpoints, TensorBoard, CSV log, backup, NaN guard)."))
    allow_unsafe_callbacks: bool = Field(False, description=(
        "Allow callbacks that reach the network (RemoteMonitor) or wrap others (CallbackList). "
        "Off by default: a config from someone else cannot send your metrics anywhere."))
    verbose: Literal["auto", 0, 1, 2] = Field("auto", description=(
        "model.fit's verbosity; auto: a progress bar at a terminal, a line per epoch elsewhere."))
    backup_every: Union[int, str] = Field(
        "5s", description="How often the resumable training state (backup/) is written: every N epochs "
                          "(an integer) or at most once per time span ('30s', '2m', '1h'); always also on "
                          "Ctrl-C/SIGTERM and at the end. A killed run loses at most one interval.")

    phases: list[PhaseConfig] | None = Field(None, min_length=1, description=(
        "Training in phases (dlflow.config.schema_phases): a frozen backbone, then its top layers; "
        "fit.epochs is their total when left out"))

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

    backend: Literal["tensorflow", "jax"] = Field("tensorflow", description=(
        "The Keras 3 backend (multi-machine training uses jax)."))
    device: Literal["auto", "cpu", "gpu"] = Field("auto", description="Where to train; auto: a GPU when present.")
    strategy: Literal["auto", "none", "mirrored", "data_parallel", "multi_worker"] = Field("auto", description=(
        "How training spreads over devices; auto: all GPUs when there are several."))
    logical_cpus: int = Field(2, ge=1, description=(
        "CPU devices to split into for strategy mirrored or data_parallel on a machine without GPUs."))
    mixed_precision: Literal["auto", "off", "mixed_float16", "mixed_bfloat16"] = Field("auto", description=(
        "Keras's dtype policy; auto: mixed_float16 on GPUs that gain from it."))
    jit_compile: Literal["auto"] | bool = Field("auto", description=(
        "XLA compilation of the train step; auto: Keras's choice."))
    deterministic: bool = Field(False, description="Bit-identical reruns on the same machine (slower).")

    @model_validator(mode="after")
    def _logical_cpus_take_effect(self) -> "RuntimeConfig":
        if self.logical_cpus != 2 and self.strategy in ("auto", "none"):
            raise ValueError(f"logical_cpus: {self.logical_cpus} splits the CPU for strategy: mirrored or "
                             f"data_parallel on a machine without GPUs; with strategy: {self.strategy} it would do "
                             f"nothing (set the strategy, or remove logical_cpus)")
        return self


class TFLiteOptions(Section):
    """TFLite conversion options."""

    quantize: Literal[QUANTIZE_MODES] = Field("none", description=(
        "Post-training quantization of the TFLite model (int8 calibrates on training samples)."))


class ExportConfig(Section):
    """Which artifacts `dlflow export` writes by default."""

    formats: list[Literal[EXPORT_FORMATS]] = Field(list(EXPORT_FORMATS), description=(
        "Artifacts `dlflow export` writes when not told with --format."))
    tflite: TFLiteOptions = Field(TFLiteOptions(), description="TFLite conversion options.")


class MlflowTracking(Section):
    """Track train runs in MLflow: params, per-epoch metrics, evaluation, data card, report, model."""

    uri: Optional[str] = Field(None, min_length=1, description=(
        "MLflow tracking URI (sqlite:///path.db, http://host:5000, a folder); default: a local SQLite store "
        "sqlite:///<folder of the runs folder>/mlruns.db, its artifacts in mlartifacts/ next to it"))
    experiment: Optional[str] = Field(None, min_length=1, description=(
        "MLflow experiment to log to (created when missing); default: the config's name"))


class TrackingConfig(Section):
    """Where runs are tracked besides their run directory and TensorBoard."""

    mlflow: Optional[MlflowTracking] = Field(None, description=(
        "log each train run to MLflow ({} for the defaults); `dlflow train --mlflow URI` sets it too"))


class MonitorConfig(Section):
    """`dlflow monitor`'s thresholds: past any of them it exits 1 (see dlflow/monitor/drift.py)."""

    psi: float = Field(0.2, gt=0, description="A numeric feature drifts at this population stability index "
                                               "or more (with the KS test also significant).")
    ks_pvalue: float = Field(0.01, gt=0, lt=1, description="...and a Kolmogorov-Smirnov p-value under this.")
    chi2_pvalue: float = Field(0.01, gt=0, lt=1, description="A categorical feature or the predicted classes "
                                                              "drift at a chi-square p-value under this.")
    missing_increase: float = Field(0.1, ge=0, le=1, description="A feature drifts when its share of missing "
                                                                  "values exceeds training's by more than this.")
    min_rows: int = Field(50, ge=1, description="Fewer live rows than this: nothing is tested (too few to tell).")
    accuracy_drop: float = Field(0.05, ge=0, le=1, description="With --labels: live accuracy this far under the "
                                                               "evaluation's is an alert.")


class ExperimentConfig(Section):
    """A whole experiment: data, model, compile, fit, runtime, export."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description=(
        "The experiment's name: its runs go to runs/<name>/<run-id>/."))
    seed: int = Field(1337, ge=0, lt=2**32, description=(
        "Seeds Python, NumPy, Keras, the split and the shuffles (0 <= seed < 2**32)."))
    task: Literal[TASKS] | None = Field(None, description=(
        "The kind of prediction; left out: inferred from the target."))
    data: DataConfig = Field(description="Where the data comes from and how it is split.")
    model: ModelConfig = Field(description="The model: exactly one of sequential, functional or factory.")
    compile: CompileConfig = Field(CompileConfig(), description="Arguments of model.compile.")
    fit: FitConfig = Field(FitConfig(), description="Arguments of model.fit and what 'best' means.")
    runtime: RuntimeConfig = Field(RuntimeConfig(), description="Backend, devices, strategy and precision.")
    export: ExportConfig = Field(ExportConfig(), description="What `dlflow export` writes by default.")
    tracking: Optional[TrackingConfig] = Field(None, description=(
        "Tracking besides TensorBoard (MLflow); off when unset."))
    search: SearchConfig | None = Field(None, description="`dlflow tune`'s hyperparameter search over config paths.")
    monitor: MonitorConfig = Field(MonitorConfig(), description="`dlflow monitor`'s drift thresholds.")
