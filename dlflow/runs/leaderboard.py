"""A search's files in its tune directory: leaderboard.json/.csv, best.yaml; the HParams dashboard's files
(of tune trials and of every train run)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from dlflow.config.search_space import encoded_choices, one_line_yaml, trial_config
from dlflow.runs.files import atomic_path
from dlflow.runs.manifest import write_json, write_text


def write_leaderboard(folder: Path, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """leaderboard.json and leaderboard.csv (one column per searched path)."""
    write_json(folder / "leaderboard.json", {"trials": rows})
    columns = ["rank", "trial", "status", *keys, "score", "best_epoch", "epochs", "seconds"]
    with atomic_path(folder / "leaderboard.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [
                    row["rank"],
                    row["trial"],
                    row["status"],
                    *[one_line_yaml(row["values"].get(k)) for k in keys],
                    row["score"],
                    row["best_epoch"],
                    row["epochs"],
                    row["seconds"],
                ]
            )


def write_best_config(folder: Path, state: Any, best: dict[str, Any]) -> Path:
    """best.yaml: the best trial's full resolved config, runnable with `dlflow train`."""
    from dlflow.config import dump_config

    config = trial_config(state.loaded, best["values"]).config
    path = folder / "best.yaml"
    lines = [
        f"# The best trial ({best['trial']}) of {folder}:",
        f"#   {config.search.objective} {best['score']:.6g} at epoch {best['best_epoch']}",
        *[f"#   {key}: {one_line_yaml(value)}" for key, value in best["values"].items()],
        f"# Train it: dlflow train {path}",
    ]
    if config.model.factory:
        lines.append(
            f"# model.factory '{config.model.factory}' is imported from {state.loaded.base_dir}: run "
            f"with PYTHONPATH={state.loaded.base_dir} (or copy this file next to the original config)"
        )
    write_text(path, "\n".join(lines) + "\n" + dump_config(config))
    return path


def write_hparams_config(folder: Path, search: Any, direction: str) -> None:
    """The HParams dashboard's experiment: the searched paths and the metrics to compare."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    encoded = encoded_choices(search)
    hparams = []
    for key, dim in search.space.items():
        if dim.kind == "choice":
            domain = hp_api.Discrete([one_line_yaml(v) for v in dim.choice] if key in encoded else list(dim.choice))
        elif dim.kind == "int" and not dim.log:
            low, high = int(dim.int[0]), int(dim.int[1])
            domain = (
                hp_api.Discrete(list(range(low, high + 1, int(dim.step))))
                if dim.step
                else hp_api.IntInterval(low, high)
            )
        elif dim.kind == "int":
            domain = None  # log-spaced integers: shown as they come
        else:
            domain = hp_api.RealInterval(float(dim.float[0]), float(dim.float[1]))
        hparams.append(hp_api.HParam(key, domain))
    metrics = [
        hp_api.Metric("epoch_loss", group="validation", display_name="val_loss"),
        hp_api.Metric("epoch_loss", group="train", display_name="loss"),
    ]
    objective = search.objective
    if objective not in ("loss", "val_loss"):
        group = "validation" if objective.startswith("val_") else "train"
        metrics.insert(
            0,
            hp_api.Metric(
                f"epoch_{objective.removeprefix('val_')}", group=group, display_name=f"{objective} ({direction})"
            ),
        )
    folder.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp_api.hparams_config(hparams=hparams, metrics=metrics)
    writer.close()


def write_hparams(folder: Path, trial_id: str, values: dict[str, Any], search: Any = None) -> None:
    """One trial's (or train run's) values for the HParams dashboard, next to its TensorBoard logs.

    Args:
        folder: the logs folder whose `train/` and `validation/` hold the run's scalars.
        trial_id: how the dashboard names the session (`trial <id>`).
        values: by config path; with `search`, its encoded choices are written as one-line
            YAML; without, every value that is not a number, string or boolean is.
        search: the tune search the values come from, or None for a train run's whole config.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    encoded = (
        encoded_choices(search)
        if search is not None
        else {key for key, v in values.items() if not isinstance(v, (bool, int, float, str))}
    )
    shown = {key: (one_line_yaml(v) if key in encoded else v) for key, v in values.items()}
    folder.mkdir(parents=True, exist_ok=True)
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp_api.hparams(shown, trial_id=f"trial {trial_id}" if search is not None else trial_id)
    writer.close()
