"""The collect stage: load and validate the data, freeze the split, write the data card."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from dlflow.config.located import located_errors
from dlflow.data.progress import Listener, reporting
from dlflow.log import Log, quiet
from dlflow.workflow.prepared_data import prepare_data

CARD_NAME = "collect.json"


def collect(
    config_file: str | Path,
    overrides: Sequence[str] = (),
    *,
    runs_root: Path = Path("runs"),
    folds: int | None = None,
    repeats: int = 1,
    log: Log = quiet,
    count: Listener | None = None,
) -> dict[str, Any]:
    """Load and validate a config's data, freeze the experiment's split, and write its data card.

    Args:
        config_file: the experiment config (YAML).
        overrides: `PATH=VALUE` strings applied before validation.
        runs_root: where experiment folders go; the card is runs/<name>/collect.json.
        folds: also check that K-fold cross-validation with this many folds is possible, and
            show the folds' sizes.
        repeats: K-fold repeats (iterated K-fold), with `folds`.
        log: receives progress lines.
        count: receives the progress of the passes over the data's files, `(what, done, total)`
            (see `dlflow.data.progress`); None: not reported.

    Returns:
        The data card (see `dlflow.data.card.data_card`), plus `experiment`, `split_created`
        (whether the split was frozen now) and `card` (where it was written).
    """
    from dlflow.config import load_config
    from dlflow.data.card import data_card, kfold_plan
    from dlflow.runs.manifest import now_iso, write_json

    loaded = load_config(config_file, overrides)
    config = loaded.config
    with reporting(count):
        data = prepare_data(loaded, runs_root, log)
    with located_errors(loaded):
        plan = kfold_plan(data.split, data.dataset, folds=folds, repeats=repeats) if folds else None
        card = data_card(data.dataset, data.split, train=data.train, cv=plan)
    card = {"experiment": config.name, "created": now_iso(), "split_created": data.split_created, **card}
    path = runs_root / config.name / CARD_NAME
    write_json(path, card)
    log(f"data card: {path}")
    return {**card, "card": str(path)}
