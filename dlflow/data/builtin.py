"""Built-in datasets: real data bundled inside installed packages, loaded with no download."""

from __future__ import annotations

from typing import Callable

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec
from dlflow.data.tabular import dataset_from_frame
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError


def _digits(task: str | None, target: str | None) -> Dataset:
    """scikit-learn's handwritten digits: 1,797 8x8 grayscale images (pixels 0-16), 10 classes."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype("float32")[..., np.newaxis]
    labels, spec = encode_target(bunch.target, target or "label", task or "multiclass", source="builtin:digits")
    return Dataset(
        kind="image",
        inputs={"image": images},
        targets={spec.name: labels},
        input_specs={"image": InputSpec("image", images.shape[1:], "float32", "image", scale=1.0 / 16.0)},
        target_specs={spec.name: spec},
        source="builtin:digits",
    )


def _sklearn_table(loader_name: str, default_target: str) -> Callable[[str | None, str | None], Dataset]:
    def load(task: str | None, target: str | None) -> Dataset:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
        frame = bunch.frame.rename(columns={"target": default_target})
        names = getattr(bunch, "target_names", None)
        if names is not None and len(names):  # classification: keep the labels' own names
            frame[default_target] = np.asarray(names, dtype=object)[frame[default_target].to_numpy()]
        return dataset_from_frame(
            frame,
            target=target or default_target,
            features=None,
            task=task,
            source=f"builtin:{loader_name.removeprefix('load_')}",
        )

    load.__doc__ = f"scikit-learn's {loader_name.removeprefix('load_')} table."
    return load


def _statsmodels_series(name: str) -> Callable[[], "object"]:
    def load():
        import statsmodels.api as sm

        if name == "sunspots":
            frame = sm.datasets.sunspots.load_pandas().data
            return frame.rename(columns={"YEAR": "year", "SUNACTIVITY": "sunactivity"})
        frame = sm.datasets.co2.load_pandas().data.interpolate().reset_index(names="date")
        return frame

    return load


BUILTINS: dict[str, Callable[[str | None, str | None], Dataset]] = {
    "digits": _digits,
    "iris": _sklearn_table("load_iris", "species"),
    "wine": _sklearn_table("load_wine", "cultivar"),
    "breast_cancer": _sklearn_table("load_breast_cancer", "diagnosis"),
    "diabetes": _sklearn_table("load_diabetes", "progression"),
}

# Time series tables (statsmodels), turned into windows by the time series kind.
BUILTIN_SERIES: dict[str, Callable[[], object]] = {
    "sunspots": _statsmodels_series("sunspots"),
    "co2": _statsmodels_series("co2"),
}


# The column each built-in series forecasts, and the columns left out of its windows by default.
BUILTIN_SERIES_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sunspots": ("sunactivity", ("year",)),
    "co2": ("co2", ()),  # its date column is the time axis, left out as every time column is
}


def load_builtin(name: str, *, task: str | None, target: str | None, data: object = None) -> Dataset:
    """Load `builtin:<name>`; a built-in time series needs the config's `data` (its window)."""
    if name in BUILTIN_SERIES:
        from dlflow.data.timeseries import dataset_from_series

        default_target, ignore = BUILTIN_SERIES_COLUMNS[name]
        if data is None or getattr(data, "window", None) is None:
            raise DataError(
                f"builtin:{name} is a time series: set data.window, e.g. data.window: "
                f"{{length: 24, horizon: 1}} (each sample sees `length` steps and forecasts "
                f"{default_target} `horizon` steps later)",
                config_path=("data", "window"),
            )
        return dataset_from_series(
            BUILTIN_SERIES[name](),
            data,
            task,
            source=f"builtin:{name}",
            default_target=default_target,
            default_ignore=ignore,
        )
    if name not in BUILTINS:
        from dlflow.config.problems import did_you_mean

        known = sorted(BUILTINS) + sorted(BUILTIN_SERIES)
        raise DataError(
            f"unknown built-in dataset '{name}'{did_you_mean(name, known)}; expected one of: {', '.join(known)}"
        )
    return BUILTINS[name](task, target)
