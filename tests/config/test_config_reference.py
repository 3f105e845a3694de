"""Schema help: every config key has a description (editors' hover help through `dlflow schema`), and
docs/config.md is the reference generated from the schema (`make docs` when this fails)."""

from __future__ import annotations

from dlflow.config import json_schema
from dlflow.config.reference import markdown
from tests.conftest import ROOT, run_cli


def test_every_config_key_has_a_description():
    schema = json_schema()
    defs = schema["$defs"]

    def described(prop: dict) -> bool:  # pydantic leaves out a field's description equal to its section's
        ref = prop.get("$ref", "").rsplit("/", 1)[-1]
        return bool(prop.get("description") or (ref and defs[ref].get("description")))

    missing = [
        f"{owner}.{key}"
        for owner, node in [("ExperimentConfig", schema), *defs.items()]
        for key, prop in node.get("properties", {}).items()
        if not described(prop)
    ]
    assert missing == []


def test_docs_config_md_is_generated_from_the_schema():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == markdown(), "docs/config.md is stale: run `make docs`"
    assert "| `batch_size` | int | `32` | Samples per gradient step" in text


def test_schema_markdown_prints_the_reference(tmp_path):
    done = run_cli("schema", "--markdown", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == markdown()


def test_the_cli_choices_are_the_schema_values():
    from dlflow.choices import DATA_FORMATS, EXPORT_FORMATS, TASKS

    props, defs = json_schema()["properties"], json_schema()["$defs"]
    assert props["task"]["anyOf"][0]["enum"] == list(TASKS)
    assert defs["DataConfig"]["properties"]["format"]["enum"] == ["auto", *DATA_FORMATS]
    assert defs["ExportConfig"]["properties"]["formats"]["items"]["enum"] == list(EXPORT_FORMATS)
