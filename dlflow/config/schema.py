"""The experiment config as pydantic models (DESIGN.md §2). Imports no TensorFlow.

Wherever Keras takes an object the config takes a `KerasObject`: an identifier string
(`adam`, `relu`) or a one-key mapping `{ClassName: {kwargs}}`. The structure is checked here;
class names and keyword arguments are checked against Keras by `dlflow.config.keras_check`.
"""

from typing import Literal, Optional

from pydantic import Field

from dlflow.config.schema_base import EXPORT_FORMATS, QUANTIZE_MODES, TASKS, KerasObject, Section  # noqa: F401 (re-exported)
from dlflow.config.schema_data import (  # noqa: F401 (re-exported)
    DataConfig,
    ImageOptions,
    MissingConfig,
    SplitConfig,
    StreamingConfig,
    TextOptions,
    WindowOptions,
)
from dlflow.config.schema_fit import FitConfig, RuntimeConfig, backup_interval  # noqa: F401 (re-exported)
from dlflow.config.schema_model import CompileConfig, FunctionalConfig, ModelConfig  # noqa: F401 (re-exported)
from dlflow.config.schema_search import SearchConfig, SearchDimension  # noqa: F401 (re-exported)


class TFLiteOptions(Section):
    """TFLite conversion options."""

    quantize: Literal[QUANTIZE_MODES] = Field(
        "none", description=("Post-training quantization of the TFLite model (int8 calibrates on training samples).")
    )


class ExportConfig(Section):
    """Which artifacts `dlflow export` writes by default."""

    formats: list[Literal[EXPORT_FORMATS]] = Field(
        list(EXPORT_FORMATS), description=("Artifacts `dlflow export` writes when not told with --format.")
    )
    tflite: TFLiteOptions = Field(TFLiteOptions(), description="TFLite conversion options.")


class MlflowTracking(Section):
    """Track train runs in MLflow: params, per-epoch metrics, evaluation, data card, report, model."""

    uri: Optional[str] = Field(
        None,
        min_length=1,
        description=(
            "MLflow tracking URI (sqlite:///path.db, http://host:5000, a folder); default: a local SQLite store "
            "sqlite:///<folder of the runs folder>/mlruns.db, its artifacts in mlartifacts/ next to it"
        ),
    )
    experiment: Optional[str] = Field(
        None,
        min_length=1,
        description=("MLflow experiment to log to (created when missing); default: the config's name"),
    )


class TrackingConfig(Section):
    """Where runs are tracked besides their run directory and TensorBoard."""

    mlflow: Optional[MlflowTracking] = Field(
        None,
        description=("log each train run to MLflow ({} for the defaults); `dlflow train --mlflow URI` sets it too"),
    )


class MonitorConfig(Section):
    """`dlflow monitor`'s thresholds: past any of them it exits 1 (see dlflow/monitor/drift.py)."""

    psi: float = Field(
        0.2,
        gt=0,
        description="A numeric feature drifts at this population stability index "
        "or more (with the KS test also significant).",
    )
    ks_pvalue: float = Field(0.01, gt=0, lt=1, description="...and a Kolmogorov-Smirnov p-value under this.")
    chi2_pvalue: float = Field(
        0.01,
        gt=0,
        lt=1,
        description="A categorical feature or the predicted classes drift at a chi-square p-value under this.",
    )
    missing_increase: float = Field(
        0.1,
        ge=0,
        le=1,
        description="A feature drifts when its share of missing values exceeds training's by more than this.",
    )
    min_rows: int = Field(50, ge=1, description="Fewer live rows than this: nothing is tested (too few to tell).")
    accuracy_drop: float = Field(
        0.05, ge=0, le=1, description="With --labels: live accuracy this far under the evaluation's is an alert."
    )


class ExperimentConfig(Section):
    """A whole experiment: data, model, compile, fit, runtime, export."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description=("The experiment's name: its runs go to runs/<name>/<run-id>/."),
    )
    seed: int = Field(
        1337,
        ge=0,
        lt=2**32,
        description=("Seeds Python, NumPy, Keras, the split and the shuffles (0 <= seed < 2**32)."),
    )
    task: Literal[TASKS] | None = Field(
        None, description=("The kind of prediction; left out: inferred from the target.")
    )
    data: DataConfig = Field(description="Where the data comes from and how it is split.")
    model: ModelConfig = Field(description="The model: exactly one of sequential, functional or factory.")
    compile: CompileConfig = Field(CompileConfig(), description="Arguments of model.compile.")
    fit: FitConfig = Field(FitConfig(), description="Arguments of model.fit and what 'best' means.")
    runtime: RuntimeConfig = Field(RuntimeConfig(), description="Backend, devices, strategy and precision.")
    export: ExportConfig = Field(ExportConfig(), description="What `dlflow export` writes by default.")
    tracking: Optional[TrackingConfig] = Field(
        None, description=("Tracking besides TensorBoard (MLflow); off when unset.")
    )
    search: SearchConfig | None = Field(None, description="`dlflow tune`'s hyperparameter search over config paths.")
    monitor: MonitorConfig = Field(MonitorConfig(), description="`dlflow monitor`'s drift thresholds.")
