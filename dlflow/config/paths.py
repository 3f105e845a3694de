"""Config paths: tuples of keys and list indices, and their dotted form.

A path names one place in a config: `("model", "sequential", 4, "Dense", "units")` is written
`model.sequential[4].Dense.units`, the form used in error messages, `--set PATH=VALUE` and the
keys of `search.space`. Keys that are not plain names are quoted: `data.features["first name"]`.

Example:

```python
>>> format_path(("compile", "optimizer", "Adam", "learning_rate"))
'compile.optimizer.Adam.learning_rate'
>>> parse_path("model.sequential[4].Dense.units")
('model', 'sequential', 4, 'Dense', 'units')
```
"""

from __future__ import annotations

import json
import re
from typing import Union

ConfigPath = tuple[Union[str, int], ...]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_TOKEN = re.compile(
    r"""
      \[\s*(?P<index>-?\d+)\s*\]          # [4]
    | \[\s*(?P<quoted>"(?:[^"\\]|\\.)*")\s*\]  # ["a key"]
    | (?P<key>[^.\[\]"=\s][^.\[\]=]*)     # name
    """,
    re.VERBOSE,
)


def format_path(path: ConfigPath) -> str:
    """Writes a path in dotted form.

    Args:
        path: keys (str) and list indices (int), outermost first.

    Returns:
        The dotted form, e.g. `model.sequential[4].Dense.units`; `""` for the root.
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def parse_path(text: str) -> ConfigPath:
    """Reads a dotted path back into a tuple.

    Args:
        text: a path such as `compile.optimizer.Adam.learning_rate` or `fit.callbacks[0]`.

    Returns:
        The path as a tuple of keys and indices.

    Raises:
        ValueError: the text is not a path; the message says where it stops making sense.
    """
    text = text.strip()
    if not text:
        raise ValueError("expected a path such as fit.epochs, received an empty string")
    parts: list[str | int] = []
    pos = 0
    expect_key = True  # at the start or right after a dot
    while pos < len(text):
        if text[pos] == "." and not expect_key and parts:
            pos += 1
            expect_key = True
            if pos == len(text):
                break
            continue
        match = _TOKEN.match(text, pos)
        if match is None or (match.group("key") is not None and not expect_key):
            raise ValueError(f"expected a path such as model.sequential[0].Dense.units, received {text!r}")
        if match.group("index") is not None:
            if not parts:
                raise ValueError(f"a path starts with a key, received {text!r}")
            parts.append(int(match.group("index")))
        elif match.group("quoted") is not None:
            parts.append(json.loads(match.group("quoted")))
        else:
            parts.append(match.group("key").strip())
        pos = match.end()
        expect_key = False
    if expect_key:
        raise ValueError(f"expected a key after the last '.', received {text!r}")
    return tuple(parts)


def is_prefix(prefix: ConfigPath, path: ConfigPath) -> bool:
    """Whether `prefix` is `path` or one of its ancestors."""
    return path[: len(prefix)] == prefix
