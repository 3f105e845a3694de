"""The experiment config: schema, YAML loading with positions, `--set` overrides, checks.

Imports no TensorFlow or Keras: names and arguments of Keras objects are checked against a
catalogue generated from Keras (`python -m dlflow.config.make_catalogue`).

```python
from dlflow.config import load_config

loaded = load_config("configs/digits.yaml", overrides=["fit.epochs=5"])
loaded.config.fit.epochs   # 5
```
"""

from dlflow.config.keras_check import argument_categories, check_config, is_class_mapping
from dlflow.config.load import (
    LoadedConfig,
    config_to_dict,
    dump_config,
    json_schema,
    load_config,
    loads_config,
    resolve_path,
    with_overrides,
)
from dlflow.config.overrides import apply_overrides
from dlflow.config.paths import ConfigPath, format_path, parse_path
from dlflow.config.problems import Problem
from dlflow.config.schema import (
    CompileConfig,
    DataConfig,
    ExperimentConfig,
    ExportConfig,
    FitConfig,
    FunctionalConfig,
    ImageOptions,
    KerasObject,
    MissingConfig,
    ModelConfig,
    MonitorConfig,
    RuntimeConfig,
    SplitConfig,
    TextOptions,
    TFLiteOptions,
    WindowOptions,
)
from dlflow.config.yaml_loader import Positions

__all__ = [
    "CompileConfig",
    "ConfigPath",
    "DataConfig",
    "ExperimentConfig",
    "ExportConfig",
    "MonitorConfig",
    "FitConfig",
    "FunctionalConfig",
    "ImageOptions",
    "KerasObject",
    "LoadedConfig",
    "MissingConfig",
    "ModelConfig",
    "Positions",
    "Problem",
    "RuntimeConfig",
    "SplitConfig",
    "TFLiteOptions",
    "TextOptions",
    "WindowOptions",
    "apply_overrides",
    "argument_categories",
    "check_config",
    "config_to_dict",
    "dump_config",
    "format_path",
    "is_class_mapping",
    "json_schema",
    "load_config",
    "loads_config",
    "parse_path",
    "resolve_path",
    "with_overrides",
]
