"""Exceptions internal to `dlflow.export` (never seen by the CLI: they end up in the report)."""

from __future__ import annotations


class Unsupported(Exception):
    """The converter cannot express this model (ops it has no equivalent for).

    `export_model` records the format as `{"ok": false, "unsupported": true, "skipped": reason}`
    and does not count it as a parity failure.
    """
