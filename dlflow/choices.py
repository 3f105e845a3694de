"""The closed sets of values a user chooses from, once: config values and the CLI options that take them.

Plain tuples and `str` Enums, importing nothing, so that `dlflow --help` can list them (and shell
completion offer them) without loading the config schema. The schema's `Literal` types are built
from the same tuples.

```python
from dlflow.choices import Task, TASKS

Task("binary").value    # 'binary'
TASKS                   # ('binary', 'multiclass', 'multilabel', 'regression')
```
"""

from __future__ import annotations

from enum import Enum

TASKS = ("binary", "multiclass", "multilabel", "regression")
DATA_FORMATS = (
    "csv",
    "tsv",
    "parquet",
    "npz",
    "image_dir",
    "text_dir",
    "timeseries",
    "builtin",
    "tfrecord",
)  # and auto
EXPORT_FORMATS = ("keras", "saved_model", "tflite", "onnx")  # export.formats, `dlflow export --format`
QUANTIZE_MODES = ("none", "dynamic", "float16", "int8")  # export.tflite.quantize
SERVE_OUTPUTS = ("decoded", "raw")
SERVE_RUNTIMES = ("auto", "onnx", "tensorflow")  # serve --runtime (dlflow.workflow.serving_runtime)


def _choice(name: str, values: tuple[str, ...], doc: str) -> type[Enum]:
    """A `str` Enum whose members are `values` (member name = value), for Typer options."""
    enum = Enum(name, {value: value for value in values}, type=str, module=__name__)
    enum.__str__ = lambda self: self.value  # type: ignore[method-assign]  # help and messages show the value
    enum.__doc__ = doc
    return enum


Task = _choice("Task", TASKS, "The kind of prediction: binary, multiclass, multilabel or regression.")
DataFormat = _choice("DataFormat", DATA_FORMATS, "How the data is stored, when its name does not tell.")
ExportFormat = _choice("ExportFormat", EXPORT_FORMATS, "An artifact `dlflow export` writes.")
ServeOutput = _choice("ServeOutput", SERVE_OUTPUTS, "What `dlflow serve` answers: decoded labels or raw tensors.")
ServeRuntime = _choice("ServeRuntime", SERVE_RUNTIMES, "What runs the model in `dlflow serve`.")
