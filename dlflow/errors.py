"""dlflow's own errors: every failure a user can cause or see carries its exit code.

Library code raises these; only `dlflow.cli` turns them into a message and an exit status.

Exit codes (DESIGN.md §1): 0 success; 1 the work failed (diverged, export mismatch);
2 bad usage, config or data; 130 interrupted.
"""

from __future__ import annotations


class DlflowError(Exception):
    """Base class: a one-line message and the process exit code it maps to."""

    exit_code = 1

    def __init__(
        self, message: str, *, details: list[str] | None = None, config_path: tuple[str | int, ...] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        # The config entry the problem comes from, e.g. ("data", "source"); the workflow turns
        # it into "file:line:col: data.source: ..." with the config's positions.
        self.config_path = config_path

    def lines(self) -> list[str]:
        """The message and any detail lines, ready to print after `error: `."""
        return [self.message, *self.details]


class UsageError(DlflowError):
    """A command was called wrongly (missing run, bad flag value)."""

    exit_code = 2


class ConfigError(DlflowError):
    """One or more problems in an experiment config.

    Args:
        problems: one fully formatted line per problem
            (`file:line:col: path: what is wrong`).
    """

    exit_code = 2

    def __init__(self, problems: list[str] | str, *, config_path: tuple[str | int, ...] | None = None):
        problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(problems[0], details=problems[1:], config_path=config_path)
        self.problems = problems


class DataError(DlflowError):
    """The data cannot be used as configured (missing file, bad column, too few rows)."""

    exit_code = 2


class WorkFailed(DlflowError):
    """The work ran but failed: training diverged, an export does not match the model."""

    exit_code = 1


class Interrupted(DlflowError):
    """The user interrupted the work; the run can be resumed."""

    exit_code = 130
