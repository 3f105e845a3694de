"""A stage folder of an experiment (`runs/<name>/cv-<id>/`, `runs/<name>/tune-<id>/`), opened alike by each
stage: a fresh folder holding the resolved config and a manifest that says what ran, when, with what."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

from dlflow.runs.layout import stage_dir
from dlflow.runs.manifest import now_iso, update_manifest, versions, write_text


def start_stage(runs_root: Path, config: Any, kind: str, argv: Sequence[str] | None, **manifest: Any) -> Path:
    """A new `runs/<experiment>/<kind>-<UTC id>/` with `config.yaml` and `manifest.json` (status running).

    Args:
        runs_root: the runs folder.
        config: the resolved experiment config (its name, seed, and the text written).
        kind: the stage ("cv", "tune"): the folder's prefix and the manifest's `kind`.
        argv: the command line recorded (default: this process's).
        manifest: the stage's own manifest fields.
    """
    from dlflow.config import dump_config

    folder = stage_dir(runs_root.resolve(), config.name, kind)
    write_text(folder / "config.yaml", dump_config(config))
    update_manifest(
        folder / "manifest.json",
        kind=kind,
        experiment=config.name,
        status="running",
        created=now_iso(),
        command=list(argv or sys.argv),
        versions=versions(),
        seed=config.seed,
        **manifest,
    )
    return folder
