"""Class folders (image_dir, text_dir): one sub-folder per class, its name the label."""

from __future__ import annotations

import os
from pathlib import Path

from dlflow.errors import DataError

DEFAULT_TARGET = "label"


def class_files(
    folder: Path, suffixes: tuple[str, ...], *, what: str, labeled: bool = True
) -> tuple[list[Path], list[str]]:
    """Every file with one of `suffixes` under each class sub-folder, and its class.

    Sub-folders are read recursively; hidden files and folders (`.name`) and files with
    other suffixes are skipped. Classes and files are sorted, so the order is reproducible.

    Args:
        folder: the data folder.
        suffixes: lower-case file suffixes to keep, e.g. (".txt",).
        what: what the files are, for messages ("images", "text files").
        labeled: False for `data.target: none`: every file under the folder, at any depth, each
            labeled "" (no class folders needed).

    Returns:
        (files, labels): the files, and for each its class (sub-folder name).

    Raises:
        DataError: no class sub-folders, an empty class, a single class, or a file of the
            right kind outside any class folder.
    """
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a folder with one sub-folder per class", config_path=("data", "source"))
    expected = ", ".join(suffixes)
    if not labeled:
        files = _files_under(folder, suffixes)
        if not files:
            raise DataError(f"{folder}: found no {what} ({expected})", config_path=("data", "source"))
        return files, [""] * len(files)
    classes = _class_dirs(folder, suffixes, what)
    files: list[Path] = []
    labels: list[str] = []
    for class_dir in classes:
        found = _files_under(class_dir, suffixes)
        if not found:
            raise DataError(
                f"{class_dir}: the class folder '{class_dir.name}' holds no {what} ({expected}); "
                f"add some or remove the folder",
                config_path=("data", "source"),
            )
        files += found
        labels += [class_dir.name] * len(found)
    if len(classes) < 2:
        raise DataError(
            f"{folder}: found one class folder ('{classes[0].name}'); classification needs at least "
            f"2 sub-folders, one per class",
            config_path=("data", "source"),
        )
    return files, labels


def _class_dirs(folder: Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """The sorted class sub-folders of `folder`; a DataError for loose files or no sub-folder."""
    expected = ", ".join(suffixes)
    loose = sorted(p for p in folder.iterdir() if p.is_file() and _wanted(p, suffixes))
    if loose:
        raise DataError(
            f"{loose[0]}: {what} must sit in a sub-folder named after their class "
            f"(e.g. {folder / 'CLASS' / loose[0].name})",
            config_path=("data", "source"),
        )
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(
            f"{folder}: expected one sub-folder of {what} ({expected}) per class, found no sub-folders",
            config_path=("data", "source"),
        )
    return classes


def _files_under(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The wanted files under `folder`, at any depth, outside hidden files and folders, sorted as paths.

    One `os.scandir` per folder (no stat per file: a large image folder lists in a fraction of
    `Path.rglob`'s time); as `rglob`, folder symlinks are not followed, unreadable folders skipped.
    """
    found: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        parts = pending.pop()
        try:
            with os.scandir(folder.joinpath(*parts)) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir() and not entry.is_symlink():
                        pending.append((*parts, entry.name))
                    elif os.path.splitext(entry.name)[1].lower() in suffixes and entry.is_file():
                        found.append((*parts, entry.name))
        except PermissionError:
            continue
    return [folder.joinpath(*parts) for parts in sorted(found)]


def target_name(target: str | list[str] | None) -> str:
    """The target's name for a class folder: data.target when given, else "label"."""
    if target is None:
        return DEFAULT_TARGET
    if isinstance(target, list):
        if len(target) != 1:
            raise DataError(
                f"a class folder has one target (the sub-folder names); data.target lists {len(target)}",
                config_path=("data", "target"),
            )
        return target[0]
    return target


def _wanted(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.suffix.lower() in suffixes and not path.name.startswith(".")
