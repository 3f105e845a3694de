"""`dlflow validate --build`: `train`'s dry build without a run: data, model, compile, one batch.

Nothing is written: the split goes to a temporary runs folder, the batch's changes to the model
are undone (see `dlflow.train.dry_build`), and the model is thrown away.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from dlflow.workflow.common import Log, located_errors, prepare_data, quiet


def dry_build(loaded: Any, *, log: Log | None = None) -> dict[str, Any]:
    """Load the data, build and compile the config's model, and train it on one batch.

    Args:
        loaded: the LoadedConfig.
        log: receives progress lines (data, runtime, defaults chosen).

    Returns:
        {"parameters": the model's parameter count, "batch": the batch's loss and metrics (None when
        the step is left to `fit`: see `dry_batch`)}.

    Raises:
        ConfigError: located, for what only the build finds; DataError for the data.
    """
    from dlflow.train.dry_build import dry_batch
    from dlflow.workflow.train import build_session, prepare_runtime

    said = log or quiet

    def log(line: str) -> None:  # the split goes to a temporary folder: nothing is stored
        said(line.replace(" (new split stored)", ""))

    prepare_runtime(loaded)
    with tempfile.TemporaryDirectory(prefix="dlflow-validate-") as runs_root:
        data = prepare_data(loaded, Path(runs_root), log)
        session = build_session(loaded, data.train, data.validation, log, stage="train")
        with located_errors(loaded):
            logs = dry_batch(session, loaded.config, data.train)
        parameters = int(session.model.count_params())
    batch = None if logs is None else {name: _number(value) for name, value in logs.items()}
    return {"parameters": parameters, "batch": batch}


def _number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)
