"""The train stage's run directory: a new one with its config and manifest, or a resumed one reopened."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Sequence

from dlflow.runs.layout import RunDir, create_run
from dlflow.runs.manifest import now_iso, update_manifest, versions, write_text
from dlflow.train.session import Session


def new_run(
    runs_root: Path,
    loaded: Any,
    data: Any,
    session: Session,
    plan: Any,
    held: contextlib.ExitStack,
    *,
    stage: str,
    argv: Sequence[str] | None,
    overrides: Sequence[str],
) -> RunDir:
    """A new run directory, locked into `held`, with its config.yaml and its manifest (status running)."""
    from dlflow.config import dump_config
    from dlflow.runs.lock import run_lock

    config = loaded.config
    run = create_run(runs_root.resolve(), config.name)
    held.enter_context(run_lock(run))
    write_text(run.config, dump_config(config))
    info = data.dataset.info
    update_manifest(
        run.manifest,
        experiment=config.name,
        run_id=run.run_id,
        status="running",
        created=now_iso(),
        stage=stage,
        command=list(argv or sys.argv),
        overrides=list(overrides),
        versions=versions(),
        seed=config.seed,
        model_api=config.model.api,
        monitor=config.fit.monitor,
        config_dir=str(loaded.base_dir),
        data={
            "source": data.dataset.source,
            "kind": data.dataset.kind,
            "task": data.dataset.task,
            **data.split.describe(),
            **data.dataset.signature(),
            **{k: info[k] for k in ("cache", "skipped_files", "files_keyed") if k in info},
        },
        resumes=0,
        runtime=session.runtime.describe(),
        **session.choices.describe(),
        **({"final": plan.describe()} if plan else {}),
        **_as_is_fields(session.model, config, loaded.base_dir),
    )
    return run


def reopen_run(run: RunDir, config: Any, *, argv: Sequence[str] | None, overrides: Sequence[str]) -> None:
    """A resumed run: status running again, one more resume counted, the config as it is now."""
    from dlflow.config import dump_config

    manifest = update_manifest(run.manifest, status="running")
    update_manifest(
        run.manifest,
        resumes=int(manifest.get("resumes", 0)) + 1,
        command=list(argv or sys.argv),
        overrides=list(overrides),
        resumed=now_iso(),
    )
    write_text(run.config, dump_config(config))


def _as_is_fields(model: Any, config: Any, base_dir: Any) -> dict[str, Any]:
    """For a factory's model: its module's file and digest, and `fitted_as_is` when it has its own loop; the
    files and digests of your modules that dotted class names come from (`modules`)."""
    from dlflow.model.custom_classes import config_modules
    from dlflow.model.factory import factory_record, fitted_as_is, installed_module

    exclude = (str(base_dir),) if base_dir is not None else ()
    records = [factory_record(m, base_dir) for m in config_modules(config) if not installed_module(m, exclude)]
    if config.model.api != "factory":
        return {"modules": records} if records else {}
    own = fitted_as_is(model)
    return {
        "factory": factory_record(config.model.factory, base_dir),
        **({"fitted_as_is": own} if own else {}),
        **({"modules": records} if records else {}),
    }
