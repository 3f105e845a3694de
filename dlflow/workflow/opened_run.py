"""Opening an existing run: its config, data (same frozen split) and model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlflow.errors import UsageError
from dlflow.log import Log, quiet
from dlflow.runs.integrity import check_run_model
from dlflow.runs.layout import RunDir
from dlflow.runs.manifest import read_json
from dlflow.workflow.prepared_data import PreparedData, prepare_data


@dataclass
class OpenedRun:
    """A run directory with its resolved config and its data."""

    run: RunDir
    loaded: Any
    data: PreparedData | None  # None when opened with with_data=False
    manifest: dict
    trust_code: bool = False  # import a model.factory module found outside the installed environment


def open_run(
    run_ref: str,
    runs_root: Path,
    log: Log = quiet,
    *,
    with_data: bool = True,
    trust_code: bool = False,
    as_is_needs: str | None = None,
) -> OpenedRun:
    """Find a run, reload its config and its data with the experiment's frozen split.

    Refuses when the data changed since the run was trained (its test split would differ), and a
    factory model fitted as it is, with its own training loop (`dlflow.model.factory`).

    Args:
        with_data: False opens only the run, config and manifest (`data` is None), for stages
            that need the model but not the training data (serving).
        trust_code: allow importing the config's `model.factory` module from the folder the run
            names (its digest must still match the one recorded at training); without it only a
            module installed in the environment is imported.
        as_is_needs: open a model fitted as it is too, when it has this method of its own
            ("test_step" for evaluate), or any such model ("" for sample).
    """
    from dlflow.config import load_config
    from dlflow.runs.lookup import find_run
    from dlflow.train.backend import select_backend

    run = find_run(run_ref, runs_root, log)
    manifest = read_json(run.manifest, advice="the run directory is damaged: restore manifest.json, or train again")
    check_run_model(run, manifest.get("status"))
    loaded = load_config(run.config)
    _refuse_fitted_as_is(run, manifest, loaded.config, as_is_needs)
    factory_folder(run, manifest, loaded.config, trust_code)
    modules_folder(run, manifest, loaded.config, trust_code)
    select_backend("tensorflow")  # exports and evaluation run on TensorFlow whatever trained the model
    if not with_data:
        return OpenedRun(run, loaded, None, manifest, trust_code)
    root = run.experiment_dir.parent
    described = manifest.get("data") if isinstance(manifest.get("data"), dict) else None
    data = prepare_data(loaded, root, log, trained_on=described)
    trained_on = (described or {}).get("fingerprint")
    if trained_on and trained_on != data.split.fingerprint:
        older = manifest["data"].get("kind") in ("image", "text") and "files_keyed" not in manifest["data"]
        hint = (
            "; image and text folders are now fingerprinted by file paths and contents: train this run again"
            if older
            else ""
        )
        raise UsageError(
            f"{run.path}: the data changed since this run was trained (fingerprint "
            f"{trained_on} -> {data.split.fingerprint}); its test split no longer exists{hint}"
        )
    return OpenedRun(run, loaded, data, manifest, trust_code)


@dataclass
class RunSignature:
    """What a run's model takes and answers, as training saw it.

    Args:
        inputs: one InputSpec per model input.
        targets: one TargetSpec per model output.
        kind: the data kind (tabular, image, text, timeseries, arrays).
        series: for a time series, {"columns": [...], "window": {...}} (see `Dataset.signature`).
    """

    inputs: list[Any]
    targets: list[Any]
    kind: str
    series: dict[str, Any] | None = None


def run_signature(opened: OpenedRun, log: Log = quiet, *, raw_files: bool = True) -> RunSignature:
    """The run's input and target specs and data kind: from its manifest, without the training data.

    Args:
        raw_files: the caller turns raw files into inputs (`dlflow predict`), so it also needs an
            image input's pixel scale and a time series' columns and window; a server does not.

    Runs trained before the manifest recorded what is needed load their training data instead,
    and say so when it is gone.
    """
    from dlflow.data.dataset import InputSpec, TargetSpec

    described = opened.manifest.get("data") or {}
    kind = described.get("kind", "arrays")
    inputs, targets = described.get("inputs"), described.get("targets")
    lacking = (
        raw_files
        and bool(inputs)
        and (
            any(d.get("role") == "image" and "scale" not in d for d in inputs)
            or (kind == "timeseries" and "series" not in described)
        )
    )
    complete = bool(inputs and targets) and not lacking
    if complete:
        return RunSignature(
            [InputSpec.from_description(d) for d in inputs],
            [TargetSpec.from_description(d) for d in targets],
            kind,
            described.get("series"),
        )
    from dlflow.errors import ConfigError, DataError

    try:
        data = prepare_data(opened.loaded, opened.run.experiment_dir.parent, log)
    except (ConfigError, DataError) as exc:
        raise UsageError(
            f"{opened.run.path}: this run's manifest.json predates the record of its inputs, so its "
            f"training data is needed, and it cannot be read: {exc.message}"
        ) from exc
    dataset = data.dataset
    signature = dataset.signature()
    return RunSignature(
        list(dataset.input_specs.values()), list(dataset.target_specs.values()), dataset.kind, signature.get("series")
    )


def load_run_model(opened: OpenedRun) -> Any:
    """Load the run's model.keras (importing a factory's module and the modules of the config's dotted
    class names first, for their custom classes)."""
    import keras

    import dlflow.model.image_layers  # noqa: F401 - and ApplicationPreprocess (model.backbone)
    import dlflow.model.table_layers  # noqa: F401 - registers dlflow's own layers (FillMissing, ...) with Keras
    from dlflow.model.custom_classes import import_config_modules

    config = opened.loaded.config
    if config.model.factory:
        from dlflow.model.factory import import_factory

        folder = factory_folder(opened.run, opened.manifest, config, opened.trust_code)
        import_factory(config.model.factory, folder)
    import_config_modules(config, modules_folder(opened.run, opened.manifest, config, opened.trust_code))
    return keras.saving.load_model(opened.run.model)


def _refuse_fitted_as_is(run: RunDir, manifest: dict, config: Any, needs: str | None = None) -> None:
    own = manifest.get("fitted_as_is")
    if own and needs == "test_step" and needs not in (own.get("methods") or []):
        raise UsageError(
            f"{run.path}: nothing to evaluate: its model ({own.get('class')}) was fitted as it is and "
            f"defines no test_step, so it has no test loss of its own (its training losses are in "
            f"metrics.json and history.csv)"
        )
    if own and needs is None:
        module = str(config.model.factory).split(":")[0]
        raise UsageError(
            f"{run.path}: its model ({own.get('class')}) has its own "
            f"{', '.join(own.get('methods') or ['training loop'])} and was fitted as it is, without "
            f"dlflow's inputs and named outputs, which evaluate, export, predict and serve need; "
            f"load model.keras with keras.saving.load_model after importing {module}"
        )


def factory_folder(run: RunDir, manifest: dict, config: Any, trust_code: bool) -> Path | None:
    """Where the config's `model.factory` module may be imported from: None when it is installed
    in the environment (or there is no factory), the trainer's config folder with `trust_code`.

    Raises:
        UsageError: the module would come from a folder outside the environment and `trust_code`
            is off, or its file changed since training (its sha256 differs from the manifest's).
    """
    from dlflow.model.factory import installed_module

    reference = config.model.factory
    folder = manifest.get("config_dir")
    if not reference or installed_module(reference, (folder or ".", str(run.path))):
        return None
    return _trusted_folder(run, manifest, f"model.factory '{reference}'", manifest.get("factory") or {}, trust_code)


def modules_folder(run: RunDir, manifest: dict, config: Any, trust_code: bool) -> Path | None:
    """Where the modules of the config's dotted class names (`my_layers.Block`) may be imported from,
    under `factory_folder`'s rules: None when all are installed (KerasHub), else the trainer's config
    folder with `trust_code`, each file unchanged since training (`manifest["modules"]`)."""
    from dlflow.model.custom_classes import config_modules
    from dlflow.model.factory import installed_module

    folder = manifest.get("config_dir")
    own = [m for m in config_modules(config) if not installed_module(m, (folder or ".", str(run.path)))]
    if not own:
        return None
    records = {r.get("reference"): r for r in manifest.get("modules") or [] if isinstance(r, dict)}
    result = None
    for module in own:
        result = _trusted_folder(run, manifest, f"class module '{module}'", records.get(module, {}), trust_code)
    return result


def _trusted_folder(run: RunDir, manifest: dict, what: str, record: dict, trust_code: bool) -> Path | None:
    """The trainer's config folder for importing `what`, when trusted and unchanged since training."""
    import hashlib

    folder = manifest.get("config_dir")
    where = folder or "the run's folder"
    if not trust_code:
        raise UsageError(
            f"{run.path}: its config names {what}, Python code that would be "
            f"imported from {where}; opening a run never runs its code: pass --trust-code if you "
            f"trust it"
        )
    if folder and record.get("file") and record.get("sha256"):
        file = Path(folder) / record["file"]
        digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "(missing)"
        if digest != record["sha256"]:
            raise UsageError(
                f"{run.path}: {file} changed since the run was trained (sha256 {record['sha256'][:12]}"
                f"... -> {digest[:12]}); refusing to import it"
            )
    return Path(folder) if folder else None
