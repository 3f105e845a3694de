"""A problem found in a config, and how it is written: `FILE:LINE:COL: PATH: message`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from dlflow.config.paths import ConfigPath, format_path
from dlflow.config.yaml_loader import Positions


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config.

    Args:
        path: the path the message is about (shown before the message; `()` for the top level).
        message: what is wrong, what was expected, what was received.
        anchor: the path whose position is reported; defaults to `path`.
        value: report the position of the value at `anchor` rather than its key.
    """

    path: ConfigPath
    message: str
    anchor: Optional[ConfigPath] = None
    value: bool = False

    @property
    def where(self) -> ConfigPath:
        """The path whose position locates the problem."""
        return self.path if self.anchor is None else self.anchor

    def format(self, positions: Positions) -> str:
        """`FILE:LINE:COL: PATH: message` (or `--set PATH: ...` for an overridden value)."""
        location = positions.describe(self.where, value=self.value)
        path = format_path(self.path)
        return f"{location}: {path}: {self.message}" if path else f"{location}: {self.message}"


def format_problems(problems: Iterable[Problem], positions: Positions) -> list[str]:
    """Formats problems as lines, sorted by position, without repeats."""
    ordered = sorted(
        problems, key=lambda p: (positions.sort_key(p.where, value=p.value), format_path(p.path), p.message)
    )
    lines: list[str] = []
    for problem in ordered:
        line = problem.format(positions)
        if line not in lines:
            lines.append(line)
    return lines


def suggest(word: Any, candidates: Iterable[str]) -> Optional[str]:
    """The candidate `word` was most likely meant to be, if any is close enough.

    Args:
        word: what the user wrote.
        candidates: the accepted names.

    Returns:
        A case-insensitive match if there is one, else the closest match by
        `difflib.get_close_matches`, else None.
    """
    word = str(word)
    candidates = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    for cutoff in (0.6, 0.5) if len(word) <= 4 else (0.6,):
        match = difflib.get_close_matches(word, candidates, n=1, cutoff=cutoff)
        if match:
            return match[0]
    return None


def did_you_mean(word: Any, candidates: Iterable[str], *, json: bool = False) -> str:
    """` (did you mean 'x'?)` when a candidate is close to `word`, else `""`.

    Args:
        json: quote the name as JSON does (`"x"`), for messages about a JSON request.
    """
    match = suggest(word, candidates)
    if not match:
        return ""
    return f' (did you mean "{match}"?)' if json else f" (did you mean {match!r}?)"


def describe_value(value: Any) -> str:
    """A value as a message shows it: `'ten'`, `5`, `true`, `null`, `a mapping`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        keys = ", ".join(map(str, list(value)[:5])) + (", ..." if len(value) > 5 else "")
        return f"a mapping ({keys})" if value else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items" if value else "an empty list"
    return type(value).__name__
