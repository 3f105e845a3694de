"""Classes beyond Keras core, named by their dotted path, checked without importing them.

Wherever the config takes a Keras class it also takes `package.module.ClassName`:

- KerasHub's (`keras_hub.layers.TransformerEncoder`) are checked against `keras_hub_catalogue.json`,
  generated from the installed keras-hub (`python -m dlflow.config.make_hub_catalogue`; regenerated
  once into dlflow's cache when another version is installed, as the Keras catalogue is);
- your own (`my_layers.ResidualBlock`, a module in the config's folder or installed) are found by
  reading the module's source, never by running it: the class must be defined there (or imported
  there), and be registered with `@keras.saving.register_keras_serializable()` so a saved
  model.keras reloads. Its `__init__` gives the required arguments, its `call` the names a
  functional node's named inputs may use.

Importing happens only when the model is built (`dlflow.model.custom_classes`).
"""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import re
import sys
import warnings
from pathlib import Path
from typing import Any

from dlflow.config.catalogue import Catalogue, ClassInfo, _read, _regenerate, cache_dir, installed_version
from dlflow.config.problems import did_you_mean

HUB_CATALOGUE_PATH = Path(__file__).with_name("keras_hub_catalogue.json")
HUB_PREFIX = "keras_hub."
_DOTTED_CLASS = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*\.[A-Z]\w*$")


def is_dotted_class(name: Any) -> bool:
    """Whether `name` names a class by its dotted path (`keras_hub.layers.TransformerEncoder`)."""
    return isinstance(name, str) and bool(_DOTTED_CLASS.match(name))


def split_dotted(name: str) -> tuple[str, str]:
    """(module, class) of a dotted class name."""
    module, _, cls = name.rpartition(".")
    return module, cls


@functools.lru_cache(maxsize=None)
def load_hub_catalogue() -> Catalogue | None:
    """The KerasHub catalogue for the installed keras-hub (None when keras-hub is not installed)."""
    version = installed_version("keras_hub")
    if version is None:
        return None
    committed = _read(HUB_CATALOGUE_PATH)
    if committed is not None and committed["keras_version"] == version:
        return Catalogue(committed)
    cached = cache_dir() / f"keras_hub_catalogue-{version}.json"
    data = _read(cached)
    if data is None or data.get("keras_version") != version:
        data = _regenerate(cached, "dlflow.config.make_hub_catalogue")
    if data is None:
        warnings.warn(
            f"could not build the keras-hub {version} catalogue; checking keras_hub names against the committed one",
            stacklevel=2,
        )
        return Catalogue(committed) if committed is not None else None
    return Catalogue(data)


def find_module_file(module: str, base_dir: Path | None) -> Path | None:
    """The source file of `module` (the config's folder first, then sys.path), without importing it."""
    parts = module.split(".")
    search = [str(base_dir)] if base_dir is not None else []
    search += [p for p in sys.path if p]
    spec = importlib.machinery.PathFinder.find_spec(parts[0], search)
    for part in parts[1:]:
        if spec is None or not spec.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations))
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


class ExternalClasses:
    """Looks up dotted class names for the config checker.

    Args:
        base_dir: the config's folder (where your modules are looked up first).
    """

    def __init__(self, base_dir: Path | None = None):
        self.base_dir = base_dir
        self._modules: dict[str, dict[str, ast.ClassDef] | str] = {}

    def find(self, name: str, categories: tuple[str, ...], noun: str) -> tuple[ClassInfo | None, str]:
        """(the class's info, "") or (None, why it is refused)."""
        if name.startswith(HUB_PREFIX):
            return self._hub(name, categories, noun)
        module, cls = split_dotted(name)
        classes = self._module_classes(module)
        if isinstance(classes, str):
            return None, classes
        node = classes.get(cls)
        if node is None:
            return (
                None,
                f"unknown {noun} {name!r}: module '{module}' defines no class {cls!r}"
                f"{did_you_mean(cls, [c for c in classes if not c.startswith('_')])}",
            )
        if isinstance(node, ast.ClassDef) and not _registered(node):
            return None, (
                f"{name} is not registered with Keras, so a saved model.keras could not reload it: "
                f"decorate it with @keras.saving.register_keras_serializable()"
            )
        return _info_from_source(name, node), ""

    def _hub(self, name: str, categories: tuple[str, ...], noun: str) -> tuple[ClassInfo | None, str]:
        catalogue = load_hub_catalogue()
        if catalogue is None:
            return None, f"unknown {noun} {name!r}: keras-hub is not installed (pip install keras-hub)"
        for category in categories:
            if category in catalogue.categories and name in catalogue[category].classes:
                return catalogue[category].classes[name], ""
        names = [c for cat in categories if cat in catalogue.categories for c in catalogue[cat].classes]
        other = catalogue.find_class(name)
        hint = (
            f" (it is a KerasHub {catalogue[other[0]].noun}, expected a {noun})" if other else did_you_mean(name, names)
        )
        return None, f"unknown {noun} {name!r}{hint}"

    def _module_classes(self, module: str) -> dict[str, Any] | str:
        """The module's top-level classes by name (imported names map to None), or why it cannot be read."""
        if module not in self._modules:
            file = find_module_file(module, self.base_dir)
            if file is None:
                self._modules[module] = (
                    f"cannot find module '{module}' in the config's folder or the installed packages"
                )
            else:
                try:
                    tree = ast.parse(file.read_text(encoding="utf-8"))
                except (OSError, SyntaxError, ValueError) as exc:
                    self._modules[module] = f"cannot read module '{module}' ({file.name}): {exc}"
                else:
                    self._modules[module] = _top_level_classes(tree)
        return self._modules[module]


def _top_level_classes(tree: ast.Module) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update({(alias.asname or alias.name).split(".")[0]: None for alias in node.names})
        elif isinstance(node, ast.Assign):
            found.update({t.id: None for t in node.targets if isinstance(t, ast.Name)})
    return found


def _registered(node: ast.ClassDef) -> bool:
    return any("register_keras_serializable" in ast.unparse(d) for d in node.decorator_list)


def _method(node: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((b for b in node.body if isinstance(b, ast.FunctionDef) and b.name == name), None)


def _info_from_source(name: str, node: ast.ClassDef | None) -> ClassInfo:
    """What the source tells: `__init__`'s arguments (any_kwargs when it takes **kwargs), `call`'s names."""
    if node is None:  # imported into the module: accepted, its arguments unknown
        return ClassInfo(name, (), (), any_kwargs=True)
    init, call = _method(node, "__init__"), _method(node, "call")
    if init is None:
        args, required, any_kwargs = (), (), True
    else:
        params = init.args.args[1:] + init.args.kwonlyargs
        defaults = len(init.args.defaults)
        positional = init.args.args[1:]
        required = [a.arg for a in positional[: len(positional) - defaults]]
        required += [a.arg for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults, strict=True) if d is None]
        args, any_kwargs = tuple(a.arg for a in params), init.args.kwarg is not None
    call_args: tuple[str, ...] = ()
    call_required: tuple[str, ...] = ()
    if call is not None:
        positional = call.args.args[1:]
        call_args = tuple(a.arg for a in positional + call.args.kwonlyargs)
        required_call = tuple(a.arg for a in positional[: len(positional) - len(call.args.defaults)])
        call_required = required_call if len(required_call) > 1 else ()
    return ClassInfo(
        name, tuple(args), tuple(required), any_kwargs, (), call_required, call_args if len(call_args) > 1 else ()
    )
