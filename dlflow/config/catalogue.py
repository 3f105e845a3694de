"""The Keras catalogue: which class names, arguments and identifier strings Keras accepts.

Validation checks configs against this catalogue instead of importing Keras (which imports
TensorFlow and takes seconds). The committed `keras_catalogue.json` is generated from the
Keras version dlflow pins by `python -m dlflow.config.make_catalogue`. When the installed Keras
is another version, the catalogue is regenerated once, in a subprocess, into
`$XDG_CACHE_HOME/dlflow/keras_catalogue-<version>.json` (default `~/.cache/dlflow/`).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOGUE_PATH = Path(__file__).with_name("keras_catalogue.json")
FORMAT_VERSION = 2  # bump when the catalogue's layout changes
CATEGORIES = (
    "layers",
    "optimizers",
    "schedules",
    "losses",
    "metrics",
    "callbacks",
    "regularizers",
    "initializers",
    "constraints",
    "activations",
)

# What one of each category is called in messages: "unknown layer 'Conv2d'".
NOUNS = {
    "layers": "layer",
    "optimizers": "optimizer",
    "schedules": "learning-rate schedule",
    "losses": "loss",
    "metrics": "metric",
    "callbacks": "callback",
    "regularizers": "regularizer",
    "initializers": "initializer",
    "constraints": "constraint",
    "activations": "activation",
}


@dataclass(frozen=True)
class ClassInfo:
    """One Keras class: the keyword arguments it accepts and those it requires.

    Args:
        name: the public class name.
        args: accepted keyword arguments, own first, then inherited.
        required: arguments without a default.
        any_kwargs: the class also accepts keyword arguments it does not name.
        types: the arguments Keras says are an `int`, a `float` or a `bool`.
        call_required: for a layer whose `call` takes several tensors by name (query, value).
        call_args: for a layer whose `call` takes several arguments, their names.
    """

    name: str
    args: tuple[str, ...]
    required: tuple[str, ...]
    any_kwargs: bool = False
    types: tuple[tuple[str, str], ...] = ()
    call_required: tuple[str, ...] = ()
    call_args: tuple[str, ...] = ()

    def type_of(self, arg: str) -> str | None:
        """`int`, `float` or `bool` when Keras says `arg` is one, else None."""
        return dict(self.types).get(arg)


class Category:
    """One category of Keras objects (layers, losses, ...): its classes and identifier strings."""

    def __init__(self, name: str, data: dict[str, Any]):
        self.name = name
        self.noun = NOUNS.get(name, name)
        self.classes = {
            cls: ClassInfo(
                cls,
                tuple(sig["args"]),
                tuple(sig["required"]),
                sig.get("any_kwargs", False),
                tuple(sig.get("types", {}).items()),
                tuple(sig.get("call_required", ())),
                tuple(sig.get("call_args", ())),
            )
            for cls, sig in data.get("classes", {}).items()
        }
        self.identifiers = frozenset(data.get("identifiers", ()))
        self.ci_identifiers = frozenset(s.lower() for s in data.get("ci_identifiers", ()))

    def accepts_identifier(self, text: str) -> bool:
        """Whether Keras takes `text` as an identifier string in this category."""
        return text in self.identifiers or text.lower() in self.ci_identifiers

    def identifier_names(self) -> list[str]:
        """Every identifier string, for suggestions."""
        return sorted(self.identifiers | self.ci_identifiers)


class Catalogue:
    """All categories of one Keras version.

    Args:
        data: the parsed catalogue JSON.
    """

    def __init__(self, data: dict[str, Any]):
        self.keras_version: str = data["keras_version"]
        self.categories = {name: Category(name, cat) for name, cat in data["categories"].items()}

    def __getitem__(self, category: str) -> Category:
        return self.categories[category]

    def find_class(self, name: str) -> tuple[str, ClassInfo] | None:
        """The first category (in `CATEGORIES` order) with a class called `name`."""
        for category in CATEGORIES:
            info = self.categories.get(category) and self.categories[category].classes.get(name)
            if info:
                return category, info
        return None


def installed_keras_version() -> str | None:
    """The installed Keras version, read from package metadata (Keras is not imported)."""
    return installed_version("keras")


def installed_version(package: str) -> str | None:
    """The version of the installed distribution of import package `package` (`keras`, `keras_hub`), or None.

    Read from the one `<package>-<version>.dist-info` beside the package (a few directory entries);
    otherwise from `importlib.metadata`, whose search of every sys.path folder takes milliseconds.
    """
    version = _version_beside(package)
    if version is not None:
        return version
    from importlib import metadata

    try:
        return metadata.version(package.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def _version_beside(package: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)  # locates the package, imports nothing
        folder = os.path.dirname(next(iter(spec.submodule_search_locations)))  # type: ignore[union-attr]
        infos = [n for n in os.listdir(folder) if n.startswith(f"{package}-") and n.endswith(".dist-info")]
        if len(infos) != 1:
            return None
        lines = Path(folder, infos[0], "METADATA").read_text(encoding="utf-8").splitlines()
    except (ImportError, ValueError, AttributeError, TypeError, StopIteration, OSError, UnicodeDecodeError):
        return None
    return next((line[len("Version:") :].strip() or None for line in lines if line.startswith("Version:")), None)


def cache_dir() -> Path:
    """dlflow's cache folder: `$XDG_CACHE_HOME/dlflow`, by default `~/.cache/dlflow`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dlflow"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("format") == FORMAT_VERSION else None


def _regenerate(path: Path, generator: str = "dlflow.config.make_catalogue") -> dict[str, Any] | None:
    """Runs the generator module in a subprocess, so this process never imports Keras."""
    import subprocess

    package_root = str(Path(__file__).resolve().parents[2])
    python_path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=python_path)
    command = [sys.executable, "-m", generator, "--output", str(path)]
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return None
    return _read(path)


@functools.lru_cache(maxsize=None)
def load_catalogue(path: str | None = None) -> Catalogue:
    """The catalogue for the installed Keras.

    Args:
        path: a catalogue file to use as is; by default the committed one, or the cached one
            regenerated for the installed Keras version when the versions differ.

    Returns:
        The catalogue. When regeneration fails, the committed catalogue, with a warning.
    """
    if path is not None:
        data = _read(Path(path))
        if data is None:
            raise ValueError(f"not a dlflow Keras catalogue: {path}")
        return Catalogue(data)
    committed = _read(CATALOGUE_PATH)
    if committed is None:
        raise RuntimeError(f"the Keras catalogue {CATALOGUE_PATH} is missing or unreadable")
    version = installed_keras_version()
    if version is None or version == committed["keras_version"]:
        return Catalogue(committed)
    cached = cache_dir() / f"keras_catalogue-{version}.json"
    data = _read(cached)
    if data is None or data.get("keras_version") != version:
        data = _regenerate(cached)
    if data is None:
        warnings.warn(
            f"could not build the Keras {version} catalogue; checking names against Keras "
            f"{committed['keras_version']} instead",
            stacklevel=2,
        )
        return Catalogue(committed)
    return Catalogue(data)
