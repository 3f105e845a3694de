"""history.csv: one row per epoch, written by Keras's CSVLogger during training."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from dlflow.errors import UsageError

ADVICE = "restore it, or train the run again (an interrupted run: dlflow train CONFIG --resume RUN)"


def read_history(history_csv: Path) -> dict[str, list[float]]:
    """history.csv as columns of floats (NaN where a value is empty or not a number).

    Raises:
        UsageError: the file is not a CSV history (binary, garbled, no `epoch` column): one line naming it.
    """
    try:
        with open(history_csv, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{history_csv}: damaged, not a readable CSV ({str(exc).splitlines()[0]}); {ADVICE}") from None
    if not header:
        return {}  # no epoch finished yet (CSVLogger writes the header with the first row)
    if "epoch" not in header:
        raise UsageError(
            f"{history_csv}: damaged, expected a header with an 'epoch' column, received "
            f"{','.join(header)[:80]!r}; {ADVICE}"
        )
    columns: dict[str, list[float]] = {name: [] for name in header}
    for row in rows:
        for key in header:
            try:
                columns[key].append(float(row.get(key)))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                columns[key].append(math.nan)
    return columns
