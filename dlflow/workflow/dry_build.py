"""`dlflow validate --build`: `train`'s dry build without a run: data, model, compile, one batch.

Nothing is written: the split goes to a temporary runs folder, the batch's changes to the model
are undone (see `dlflow.train.dry_build`), and the model is thrown away.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from dlflow.config.located import located_errors
from dlflow.log import Log, quiet
from dlflow.workflow.prepared_data import prepare_data


def dry_build(loaded: Any, *, log: Log | None = None, quiet_tf: bool = False) -> dict[str, Any]:
    """Load the data, build and compile the config's model, and train it on one batch.

    Args:
        loaded: the LoadedConfig.
        log: receives progress lines (data, runtime, defaults chosen).
        quiet_tf: load TensorFlow with its start-up noise silenced (the CLI, unless --verbose).

    Returns:
        {"parameters": the model's parameter count, "batch": the batch's loss and metrics (None when
        the step is left to `fit`: see `dry_batch`)}.

    Raises:
        ConfigError: located, for what only the build finds; DataError for the data.
    """
    from dlflow.train.dry_build import dry_batch
    from dlflow.train.session import build_session
    from dlflow.workflow.begin import begin

    said = log or quiet

    def log(line: str) -> None:  # the split goes to a temporary folder: nothing is stored
        said(line.replace(" (new split stored)", ""))

    begin(loaded, quiet_tf=quiet_tf)  # Keras's backend, before TensorFlow loads
    with tempfile.TemporaryDirectory(prefix="dlflow-validate-") as runs_root:
        data = prepare_data(loaded, Path(runs_root), log)
        session = build_session(loaded, data.train, data.validation, log, stage="train")
        with located_errors(loaded):
            logs = dry_batch(session, loaded.config, data.train, data.validation)
        parameters = int(session.model.count_params())
    batch = None if logs is None else {name: _number(value) for name, value in logs.items()}
    return {"parameters": parameters, "batch": batch}


def _number(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else str(number)
