"""Plots and the self-contained HTML report of a run."""

from dlflow.report.html import write_report

__all__ = ["write_report"]
