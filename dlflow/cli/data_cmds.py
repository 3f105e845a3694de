"""`dlflow collect`: the data card."""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from dlflow.cli.app import State
from dlflow.cli.options import JsonOption, SetOption
from dlflow.cli.output import CountProgress, emit_json, progress, stdout_console

app = typer.Typer()  # joined to the root app by cli/main.py


@app.command()
def collect(
    config: Annotated[Path, typer.Argument(help="The experiment config (YAML).")],
    folds: Annotated[
        Optional[int],
        typer.Option("--folds", min=2, help="Also check that K-fold cross-validation with K folds is possible."),
    ] = None,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="K-fold repeats (iterated K-fold), with --folds.")
    ] = 1,
    set_: SetOption = None,
    json_: JsonOption = False,
) -> None:
    """Load and validate the data, freeze the split, and print and write the data card (runs/<name>/collect.json)."""
    from dlflow.workflow.collect import collect as run_collect

    card = run_collect(
        config,
        set_ or [],
        runs_root=State.runs_root,
        folds=folds,
        repeats=repeats,
        log=progress,
        count=None if json_ else CountProgress(),
    )
    if json_:
        emit_json(card)
        return
    _print_card(card)


def _print_card(card: dict[str, Any]) -> None:
    console = stdout_console()
    streamed = ", streamed from disk" if card["streamed"] else ""
    console.print(
        f"[bold]data card[/bold] of {card['experiment']}: {card['source']} ({card['kind']}, "
        f"{card['task']}{streamed}), {card['rows']:,} rows, fingerprint {card['fingerprint']}"
    )

    console.print(_inputs_table(card))
    ignored = [c for c, t in card.get("column_types", {}).items() if t["type"] == "ignore"]
    if ignored:
        console.print(
            "ignored columns: "
            + ", ".join(f"{c}{' (inferred)' if card['column_types'][c]['inferred'] else ''}" for c in ignored)
        )
    missing = card.get("missing", {})
    for target in card["targets"]:
        classes = f", {len(target['classes'])} classes" if target.get("classes") else ""
        missing_target = missing.get(target["name"], {}).get("count", 0)
        console.print(
            f"target {target['name']}: {target['task']}{classes}"
            + (f", {missing_target} missing" if missing_target else "")
        )

    console.print(_split_table(card))
    _print_checks(console, card)
    console.print(f"written: {card['card']}")


def _inputs_table(card: dict[str, Any]) -> Any:
    """The data card's inputs: column type, rank, shape, dtype and missing values of each."""
    from rich.table import Table

    inputs = Table(title="inputs")
    for column in ("input", "column type", "rank", "shape", "dtype", "missing"):
        inputs.add_column(column, justify="right" if column in ("rank", "missing") else "left")
    missing = card.get("missing", {})
    for entry in card["inputs"]:
        column = entry.get("column", entry["name"])
        kind = entry.get("column_type", entry["role"]) + (" (inferred)" if entry.get("inferred") else "")
        gap = missing.get(column, {}).get("count", 0)
        inputs.add_row(
            entry["name"] if column == entry["name"] else f"{entry['name']} ({column})",
            kind,
            str(entry["rank"]),
            str(tuple(entry["shape"])),
            entry["dtype"],
            f"{gap:,}" if gap else "-",
        )
    return inputs


def _print_checks(console: Any, card: dict[str, Any]) -> None:
    """The data card's duplicates across parts, K-fold sizes and warnings."""
    duplicates = card.get("duplicates", {})
    if duplicates.get("checked") is False:
        console.print("duplicates across parts: not checked (streamed table)")
    else:
        across = {k: duplicates.get(k, 0) for k in ("train_validation", "train_test", "validation_test")}
        console.print(
            "duplicates across parts: "
            + ", ".join(f"{k.replace('_', '/')} {n}" for k, n in across.items())
            + f"; repeated rows overall: {duplicates.get('repeated_rows', 0)}"
        )
    if card.get("cv"):
        cv = card["cv"]
        sizes = cv["fold_sizes"]
        console.print(
            f"K-fold: {cv['folds']} folds x {cv['repeats']} repeat(s) over {cv['pool']}: validation folds of "
            f"{min(s['validation'] for s in sizes)}-{max(s['validation'] for s in sizes)} samples"
        )
    if card["warnings"]:
        console.print(f"[bold]warnings[/bold] ({len(card['warnings'])}):")
        for warning in card["warnings"]:
            console.print(f"  [yellow]{warning['kind']}[/yellow]: {warning['message']}")
            console.print(f"    advice: {warning['advice']}")
    else:
        console.print("warnings: none")


def _split_table(card: dict[str, Any]) -> Any:
    """The data card's split: samples per part, and each target's class balance in it."""
    from rich.table import Table

    split = card["split"]
    parts = Table(
        title="split"
        + (" (stratified)" if split.get("stratified") else "")
        + (" (chronological)" if split.get("chronological") else "")
    )
    parts.add_column("part")
    parts.add_column("samples", justify="right")
    balance = card.get("class_balance", {})
    for target in balance:
        parts.add_column(f"{target}: class balance")
    for part, size in split["sizes"].items():
        shares = []
        for _target, by_part in balance.items():
            counts = by_part.get(part, {})
            total = sum(counts.values()) or 1
            shares.append(", ".join(f"{label} {n / total:.0%}" for label, n in counts.items()))
        parts.add_row(part, f"{size:,}", *shares)
    return parts
