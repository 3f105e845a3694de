"""dlflow: the universal workflow of machine learning, for Keras 3, from a YAML config.

The Python API (`dlflow.api`) is the CLI's own workflow functions, for notebooks:

```python
import dlflow

run = dlflow.train("configs/digits_mlp.yaml", set={"fit.epochs": 2})
dlflow.evaluate(run).metrics
dlflow.export(run, formats=["saved_model"])
dlflow.load(run).predict(images)       # decoded labels
```

`import dlflow` stays cheap: `dlflow.api` (and TensorFlow, on the first call) loads on first use.
`dlflow.train` and `dlflow.export` are these functions, also once the sub-packages of the same
names are imported (`from dlflow.train.callbacks import ...` keeps working).
"""

import sys
import types

__version__ = "0.1.0"

API = ("train", "evaluate", "export", "load", "Run", "Evaluation", "Export", "Loaded")


def __getattr__(name: str):
    if name in API:
        from dlflow import api

        return getattr(api, name)
    raise AttributeError(f"module 'dlflow' has no attribute '{name}'")


def __dir__() -> list:
    return sorted([*globals(), *API])


class _Package(types.ModuleType):
    """The `dlflow` module: importing its sub-packages `dlflow.train` and `dlflow.export` does not
    replace the API functions of the same names (the sub-packages stay in `sys.modules`)."""

    def __setattr__(self, name: str, value) -> None:
        if name in API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
