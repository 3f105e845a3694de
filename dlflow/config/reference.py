"""docs/config.md, generated from the config schema: every section, key, type, default and description.

`make docs` (or `python -m dlflow.config.reference docs/config.md`) writes it; `dlflow schema --markdown`
prints it; a test fails when the file in the tree is stale. Imports no TensorFlow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADER = """# The experiment config, key by key

Generated from the config schema (`dlflow/config/schema*.py`) by `make docs`; do not edit by hand.
`dlflow schema` prints the same as JSON Schema for editors; DESIGN.md §2 explains the format, and
`dlflow validate CONFIG --print` shows a config with every default filled in.

Wherever Keras takes an object, a *Keras object* is its name (`adam`, `relu`) or a one-key mapping
`{ClassName: {kwargs}}`; names and arguments are checked against Keras itself.
"""

KERAS = "{ClassName: kwargs}"


def markdown() -> str:
    """The whole reference as Markdown: one table per config section, in the order they nest."""
    from dlflow.config.load import json_schema

    schema = json_schema()
    defs = schema.get("$defs", {})
    out = [HEADER]
    for path, section in _sections(schema, defs):
        out.append(_table(path, section, defs))
    return "\n".join(out)


def _sections(schema: dict[str, Any], defs: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, schema object) of the top level and every nested section, depth first, each once."""
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def visit(path: str, node: dict[str, Any]) -> None:
        found.append((path, node))
        for key, prop in node.get("properties", {}).items():
            for name in _refs(prop):
                if name not in seen:
                    seen.add(name)
                    visit(f"{path}.{key}" if path else key, defs[name])

    visit("", schema)
    return found


def _refs(prop: dict[str, Any]) -> list[str]:
    """The names of the sections a property's type refers to (through anyOf, lists and mappings)."""
    if "$ref" in prop:
        return [prop["$ref"].rsplit("/", 1)[-1]]
    names = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in prop.get(key, []):
            names += _refs(option)
    for key in ("items", "additionalProperties"):
        if isinstance(prop.get(key), dict):
            names += _refs(prop[key])
    return names


def _table(path: str, node: dict[str, Any], defs: dict[str, Any]) -> str:
    title = f"`{path}`" if path else "Top level"
    lines = [
        f"## {title}",
        "",
        node.get("description", "").strip(),
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    required = set(node.get("required", []))
    for key, prop in node.get("properties", {}).items():
        inner = f"{path}.{key}" if path else key
        if key in required:
            default = "required"
        elif _refs(prop) and prop.get("default") is not None:
            default = "its keys' defaults"
        else:
            default = f"`{_json(prop.get('default'))}`" if "default" in prop else ""
        kind = _type(prop).replace("section", f"[section](#{_anchor(inner)})", 1)
        description = prop.get("description") or _ref_description(prop, defs)
        lines.append(f"| `{key}` | {kind} | {_cell(default)} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def _anchor(path: str) -> str:
    """GitHub's anchor of a `## `path`` heading."""
    return "".join(c for c in path.lower() if c.isalnum() or c in "-_")


def _ref_description(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    names = _refs(prop)
    return defs[names[0]].get("description", "").split("\n")[0] if names else ""


def _type(prop: dict[str, Any]) -> str:
    """A short, readable type: `int`, `"a" \\| "b"`, `list of X`, `mapping of X`, section names linked."""
    if "$ref" in prop:
        return "section"
    if "enum" in prop:
        return " \\| ".join(f"`{_json(v)}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{_json(prop['const'])}`"
    options = prop.get("anyOf") or prop.get("oneOf")
    if options:
        return " \\| ".join(dict.fromkeys(_type(o) for o in options)).replace(f"str \\| {KERAS}", "Keras object")
    kind = prop.get("type")
    if kind == "array":
        items = prop.get("prefixItems")
        if items:
            return f"[{', '.join(_type(i) for i in items)}]"
        return f"list of {_type(prop['items'])}" if isinstance(prop.get("items"), dict) else "list"
    if kind == "object":
        extra = prop.get("additionalProperties")
        if isinstance(extra, dict) and [o.get("type") for o in extra.get("anyOf", [])] == ["object", "null"]:
            return KERAS  # {ClassName: {kwargs} | null}
        return f"mapping of {_type(extra)}" if isinstance(extra, dict) and extra else "mapping"
    return {"integer": "int", "number": "float", "string": "str", "boolean": "bool", "null": "null"}.get(kind, "any")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str]) -> int:
    """`python -m dlflow.config.reference [FILE]`: write the reference to FILE (default: stdout)."""
    text = markdown()
    if not argv:
        sys.stdout.write(text)
        return 0
    Path(argv[0]).write_text(text, encoding="utf-8")
    print(f"wrote {argv[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
