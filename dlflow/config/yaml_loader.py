"""YAML loading that remembers where every value came from.

`load_yaml` has `yaml.safe_load` semantics, with two differences that matter for configs:
duplicate keys are errors, and `1e-3` is a float (as in YAML 1.2; PyYAML's YAML 1.1 resolver
reads it as a string). Alongside the data it returns `Positions`: the 1-based (line, column)
of every key and value, by path, so that a problem found later can name its place in the file.

Example:

```python
data, positions = load_yaml("fit:\\n  epochs: 5\\n", "exp.yaml")
positions.describe(("fit", "epochs"))   # 'exp.yaml:2:3'
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import yaml

from dlflow.config.paths import ConfigPath, format_path, is_prefix
from dlflow.errors import ConfigError

Mark = tuple[int, int]  # (line, column), 1-based
MAX_DEPTH = 64  # nesting of mappings and lists; a config needs about 10
MAX_VALUES = 20_000  # values after expanding aliases (a "billion laughs" document expands to 10^9)


class _TooBig(Exception):
    """The document nests too deeply or expands to too many values (raised at `mark`)."""

    def __init__(self, mark: Mark, message: str):
        super().__init__(message)
        self.mark, self.message = mark, message


class ConfigLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that also reads `1e-3`, `3E+4` and `-2e5` as floats."""


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


@dataclass
class Positions:
    """Where each path of a config came from: a file position, or a `--set` override.

    Args:
        filename: the file name used in messages.
        keys: path -> position of the key (for mapping entries) or of the item (for list items).
        values: path -> position of the value.
        overrides: path -> the `--set PATH` text that set (or created) the value there.
    """

    filename: str
    keys: dict[ConfigPath, Mark] = field(default_factory=dict)
    values: dict[ConfigPath, Mark] = field(default_factory=dict)
    overrides: dict[ConfigPath, str] = field(default_factory=dict)

    def locate(self, path: ConfigPath, *, value: bool = False) -> Union[Mark, str, None]:
        """The position of `path`, or of its nearest ancestor that has one.

        Args:
            path: the path to place.
            value: prefer the value's position over the key's (for "wrong value" problems).

        Returns:
            `(line, column)`, the `--set PATH` text of the override that set it, or None.
        """
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.overrides:
                return self.overrides[prefix]
            table = self.values if (value and end == len(path)) else self.keys
            if prefix in table:
                return table[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
        return self.values.get(())  # the document itself

    def describe(self, path: ConfigPath, *, value: bool = False) -> str:
        """`FILE:LINE:COL` for a path from the file, `--set PATH` for one from an override."""
        where = self.locate(path, value=value)
        if isinstance(where, str):
            return where
        if where is None:
            return self.filename
        return f"{self.filename}:{where[0]}:{where[1]}"

    def sort_key(self, path: ConfigPath, *, value: bool = False) -> tuple:
        """Orders problems: file positions first, by line and column, then overrides in order."""
        where = self.locate(path, value=value)
        if isinstance(where, tuple):
            return (0, where[0], where[1])
        if where is None:
            return (0, 0, 0)
        origins = list(dict.fromkeys(self.overrides.values()))  # in the order given
        return (1, origins.index(where), 0)

    def forget(self, path: ConfigPath) -> None:
        """Drops the file positions at and below `path` (its value was replaced)."""
        for table in (self.keys, self.values, self.overrides):
            for known in [p for p in table if is_prefix(path, p) and p != path]:
                del table[known]
        self.values.pop(path, None)

    def __contains__(self, path: object) -> bool:
        """Whether `path` has a position in the file (mapping-style access)."""
        return path in self.keys or path in self.values

    def get(self, path: ConfigPath, default: Optional[Mark] = None) -> Optional[Mark]:
        """The file position of `path` itself (its key, else its value), or `default`."""
        return self.keys.get(path) or self.values.get(path) or default

    def copy(self) -> "Positions":
        return Positions(self.filename, dict(self.keys), dict(self.values), dict(self.overrides))


def _mark(node: yaml.Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed YAML node tree into Python data, recording positions and duplicates."""

    def __init__(self, loader: ConfigLoader, positions: Positions):
        self.loader = loader
        self.positions = positions
        self.problems: list[tuple[Mark, str]] = []
        self.count = 0

    def build(self, node: yaml.Node, path: ConfigPath) -> Any:
        self.count += 1
        if len(path) > MAX_DEPTH:
            raise _TooBig(_mark(node), f"nested more than {MAX_DEPTH} levels deep (or an alias inside itself)")
        if self.count > MAX_VALUES:
            raise _TooBig(
                _mark(node), f"the document expands to more than {MAX_VALUES} values (aliases repeating aliases?)"
            )
        self.positions.values.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode) and node.tag == "tag:yaml.org,2002:map":
            self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    self.problems.append(
                        (_mark(key_node), f"{format_path(path) or 'top level'}: keys must be plain values")
                    )
                    continue
                if key in result:
                    where = format_path(path)
                    prefix = f"{where}: " if where else ""
                    self.problems.append((_mark(key_node), f"{prefix}duplicate key {key!r}"))
                    continue
                self.positions.keys[path + (key,)] = _mark(key_node)
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode) and node.tag == "tag:yaml.org,2002:seq":
            items = []
            for i, item in enumerate(node.value):
                self.positions.keys[path + (i,)] = _mark(item)
                items.append(self.build(item, path + (i,)))
            return items
        return self.loader.construct_object(node, deep=True)


def _syntax_error(filename: str, error: yaml.YAMLError, text: str = "") -> ConfigError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML refuses, at a text offset
        before = text[: error.position]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return ConfigError(
            f"{filename}:{line}:{col}: unacceptable character U+{code:04X} "
            f"(control characters are not allowed in a config)"
        )
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if context and problem and context not in problem:
        problem = f"{problem} ({context})"
    where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark is not None else filename
    return ConfigError(f"{where}: YAML syntax error: {problem}")


class _Scanned(ConfigLoader):
    """ConfigLoader whose parser reads the tokens of an earlier scan instead of scanning again.

    Scanning is half of PyYAML's time; the depth check scans first, so the parse reuses its
    tokens. The parser meets the scanner's error (if any) where it would have: after the last
    token the scanner gave.
    """

    def __init__(self, text: str, tokens: list[yaml.Token], error: Optional[yaml.YAMLError]):
        super().__init__(text)
        self.scanned, self.scan_error, self.next_token = tokens, error, 0

    def peek_token(self) -> Optional[yaml.Token]:
        if self.next_token < len(self.scanned):
            return self.scanned[self.next_token]
        if self.scan_error is not None:
            raise self.scan_error
        return None

    def check_token(self, *choices: type) -> bool:
        token = self.peek_token()
        return token is not None and (not choices or isinstance(token, choices))

    def get_token(self) -> Optional[yaml.Token]:
        token = self.peek_token()
        self.next_token += token is not None
        return token


def _scan(text: str) -> tuple[list[yaml.Token], Optional[yaml.YAMLError], Optional[Mark]]:
    """One scan of the text: its tokens, the scanner's error, and where the nesting first passes
    MAX_DEPTH (the scan stops there: PyYAML's parser and composer are slow and recursive on deep
    nesting), or None."""
    tokens: list[yaml.Token] = []
    depth = 0
    scanner = ConfigLoader(text)
    try:
        while scanner.check_token():
            token = scanner.get_token()
            tokens.append(token)
            name = type(token).__name__
            depth += name.endswith("StartToken") and name != "StreamStartToken" and name != "DocumentStartToken"
            depth -= name in ("BlockEndToken", "FlowSequenceEndToken", "FlowMappingEndToken")
            if depth > MAX_DEPTH:
                return tokens, None, (token.start_mark.line + 1, token.start_mark.column + 1)
    except yaml.YAMLError as error:
        return tokens, error, None  # the parser reports it, located, unless it finds a problem first
    finally:
        scanner.dispose()
    return tokens, None, None


def load_yaml(text: str, filename: str) -> tuple[dict[str, Any], Positions]:
    """Parses a config document, keeping the position of every key and value.

    Args:
        text: the YAML text.
        filename: the name to use in error messages.

    Returns:
        `(data, positions)`: the top-level mapping and where each path came from.

    Raises:
        ConfigError: a YAML syntax error, duplicate keys, an empty document, or a top level
            that is not a mapping.
    """
    positions = Positions(filename)
    try:
        tokens, scan_error, deep = _scan(text)
        loader = _Scanned(text, tokens, scan_error)
    except yaml.YAMLError as error:  # unacceptable characters (NUL, control characters)
        raise _syntax_error(filename, error, text) from None
    try:
        if deep is not None:
            raise _TooBig(deep, f"nested more than {MAX_DEPTH} levels deep")
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{filename}: the config is empty: expected a mapping of sections")
        builder = _Builder(loader, positions)
        data = builder.build(root, ())
    except yaml.YAMLError as error:
        raise _syntax_error(filename, error, text) from None
    except _TooBig as error:
        raise ConfigError(f"{filename}:{error.mark[0]}:{error.mark[1]}: {error.message}") from None
    except RecursionError:  # not from nesting (checked above): a key built from a deep alias, say
        raise ConfigError(f"{filename}: nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    if builder.problems:
        builder.problems.sort()
        raise ConfigError([f"{filename}:{line}:{col}: {msg}" for (line, col), msg in builder.problems])
    if data is None:
        raise ConfigError(f"{filename}: the config is empty: expected a mapping of sections")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"{data!r}"
        line, col = _mark(root)
        raise ConfigError(f"{filename}:{line}:{col}: expected a mapping of sections, received {kind}")
    return data, positions


def parse_scalar(text: str) -> Any:
    """Reads a `--set` value as YAML: `5`, `3e-4`, `true`, `null`, `[1, 2]`, `{a: 1}`, `relu`.

    Raises:
        yaml.YAMLError: the text is not a YAML value.
    """
    if text.strip() == "":
        return ""  # `--set data.target=` sets an empty string, not null
    return yaml.load(text, Loader=ConfigLoader)
