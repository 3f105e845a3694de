"""Checks the Keras objects of a raw config against the Keras catalogue, without Keras.

Wherever Keras takes an object the config takes an identifier string (`adam`, `relu`) or a
one-key mapping `{ClassName: {kwargs}}`, nested as Keras nests them. This module walks those
places, checks class names, keyword arguments, required arguments and identifier strings
against `keras_catalogue.json`, and checks the functional graph. It reports problems; the
shapes pydantic already checks (a mapping with two class keys, a number for a layer) are
left to it.

Example:

```python
problems = check_config({"model": {"sequential": [{"Dense": {"unit": 10}}]}, ...})
# [Problem(path=('model', 'sequential', 0, 'Dense'),
#          message="unknown argument 'unit' (did you mean 'units'?)", ...)]
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from dlflow.config.catalogue import Catalogue, ClassInfo, load_catalogue
from dlflow.config.external_classes import ExternalClasses, is_dotted_class
from dlflow.config.functional_check import FunctionalChecks
from dlflow.config.keras_constraints import (
    base_class_problem,
    duplicate_names,
    exclusive_problem,
    loss_weights_problem,
    value_problems,
)
from dlflow.config.keras_object import is_class_mapping, split_object
from dlflow.config.paths import ConfigPath, parse_path
from dlflow.config.problems import Problem, did_you_mean, suggest
from dlflow.config.yaml_loader import Positions

# Keyword arguments that take Keras objects, by name: which categories the value belongs to.
_ARGUMENT_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("regularizer", ("regularizers",)),
    ("initializer", ("initializers",)),
    ("constraint", ("constraints",)),
    ("activation", ("activations", "layers")),  # `activation: {LeakyReLU: {...}}` is a layer
)
_NAMED_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "learning_rate": ("schedules",),
    "layer": ("layers",),
    "backward_layer": ("layers",),
    "cell": ("layers",),
    "cells": ("layers",),
    "layers": ("layers",),
    "inner_optimizer": ("optimizers",),
}


def argument_categories(name: str) -> tuple[str, ...]:
    """The categories a keyword argument's object belongs to, from its name.

    `kernel_regularizer` -> regularizers, `activation` -> activations (or a layer),
    `learning_rate` -> schedules, `layer` -> layers; `()` when the name implies none.
    """
    if name in _NAMED_ARGUMENTS:
        return _NAMED_ARGUMENTS[name]
    for suffix, categories in _ARGUMENT_CATEGORIES:
        if name == suffix or name.endswith("_" + suffix):
            return categories
    return ()


class _Checker(FunctionalChecks):
    """Walks one raw config, collecting problems."""

    def __init__(self, catalogue: Catalogue, base_dir: Optional[Path] = None):
        self.catalogue = catalogue
        self.external = ExternalClasses(base_dir)
        self.problems: list[Problem] = []

    def report(self, path: ConfigPath, message: str, anchor: Optional[ConfigPath] = None, value=False):
        self.problems.append(Problem(path, message, anchor, value))

    # -- single objects -------------------------------------------------------------------

    def object(self, value: Any, path: ConfigPath, categories: tuple[str, ...], strings="identifier"):
        """Checks an identifier string or `{ClassName: kwargs}` at `path`.

        Args:
            value: the object as written.
            path: where it is.
            categories: where its class may come from, first one named in messages.
            strings: what a string means: `"identifier"` (`relu`) or `"class"` (`Flatten`).
        """
        if isinstance(value, str):
            if strings == "class":
                self.instance(value, {}, path, categories, written_as_string=True)
            else:
                self.identifier(value, path, categories)
        elif split_object(value) is not None:
            self.instance(*split_object(value), path, categories)

    def identifier(self, text: str, path: ConfigPath, categories: tuple[str, ...]):
        """Checks an identifier string (`adam`, `mse`, `relu`) against the first category."""
        category = self.catalogue[categories[0]]
        if category.accepts_identifier(text):
            return
        if not category.identifiers and not category.ci_identifiers:
            if categories[0] in ("layers", "callbacks"):
                self.instance(text, {}, path, categories, written_as_string=True)
            return  # no strings in this category (schedules): pydantic or Keras decides
        hint = did_you_mean(text, category.identifier_names())
        if not hint and text in category.classes:
            hint = f" (write {{{text}: {{}}}} for the class)"
        self.report(path, f"unknown {category.noun} {text!r}{hint}", value=True)

    def _find(self, name: str, categories: tuple[str, ...]):
        if is_dotted_class(name):
            return self.external.find(name, categories, self.catalogue[categories[0]].noun)[0]
        for category in categories:
            info = self.catalogue[category].classes.get(name)
            if info is not None:
                return info
        return None

    def instance(
        self,
        name: str,
        kwargs: dict,
        path: ConfigPath,
        categories: tuple[str, ...],
        written_as_string: bool = False,
    ):
        """Checks `{name: kwargs}` at `path`: the class, its arguments, nested objects."""
        anchor = path if written_as_string else path + (name,)
        info = self._find(name, categories)
        if info is None and is_dotted_class(name):
            self.report(path, self.external.find(name, categories, self.catalogue[categories[0]].noun)[1], anchor)
            return
        if info is None:
            noun = self.catalogue[categories[0]].noun
            names = [c for cat in categories for c in self.catalogue[cat].classes]
            elsewhere = self.catalogue.find_class(name)
            if elsewhere is not None:
                hint = f" (it is a Keras {self.catalogue[elsewhere[0]].noun}, expected a {noun})"
            else:
                hint = did_you_mean(name, names)
            self.report(path, f"unknown {noun} {name!r}{hint}", anchor)
            return
        here = path + (name,)
        # a KerasHub or registered class (found by `_find` outside Keras's catalogue) takes the first category
        category = next((c for c in categories if name in self.catalogue[c].classes), categories[0])
        if base_class_problem(category, name):
            self.report(path, base_class_problem(category, name), anchor)
            return
        meant: set[str] = set()  # suggested for a misspelled argument: not also "missing"
        for arg, value in kwargs.items():
            if not isinstance(arg, str):
                self.report(here, f"expected argument names, received {arg!r}", here + (arg,))
            elif arg not in info.args and not info.any_kwargs:
                match = suggest(arg, info.args)
                hint = f" (did you mean {match!r}?)" if match else ""
                meant.add(match or "")
                self.report(here, f"unknown argument {arg!r}{hint}", here + (arg,))
            else:
                self.argument(arg, value, here + (arg,))
                before = len(self.problems)
                self.argument_type(info, arg, value, here + (arg,))
                problem = len(self.problems) == before and value_problems(
                    category, name, arg, value, info.type_of(arg), bool(argument_categories(arg))
                )
                if problem:
                    self.report(here + (arg,), problem, value=True)
        if exclusive_problem(category, kwargs):
            self.report(here, exclusive_problem(category, kwargs), anchor)
        missing = [r for r in info.required if r not in kwargs and r not in meant]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            plural = "s" if len(missing) > 1 else ""
            where = path if written_as_string else here
            self.report(where, f"missing required argument{plural} {names}", anchor)

    def argument(self, name: str, value: Any, path: ConfigPath):
        """Checks a keyword argument's value when it is (or holds) a Keras object."""
        categories = argument_categories(name)
        if isinstance(value, list):
            if categories:
                for i, item in enumerate(value):
                    if isinstance(item, (str, dict)):
                        self.argument_value(item, path + (i,), categories)
            return
        if categories:
            self.argument_value(value, path, categories)
        elif is_class_mapping(value):
            # An argument we cannot place: check it when it names a known Keras class.
            cls = next(iter(value))
            found = self.catalogue.find_class(cls)
            if found is not None:
                self.object(value, path, (found[0],))

    def argument_type(self, info: ClassInfo, name: str, value: Any, path: ConfigPath):
        """Reports a value of the wrong type for an argument Keras says is an int, a float or a bool.

        Any argument refuses a string; a required one (`units`, `rate`) also refuses anything but
        its type, except lists (Keras takes a list where it takes a tuple).
        """
        expected = info.type_of(name)
        if expected is None or isinstance(value, list):
            return
        wrong = isinstance(value, str)
        if name in info.required and not wrong:
            if expected == "bool":
                wrong = not isinstance(value, bool)
            elif expected == "int":
                wrong = isinstance(value, bool) or not isinstance(value, int)
            else:
                wrong = isinstance(value, bool) or not isinstance(value, (int, float))
        if wrong:
            self.report(path, f"expected {expected}, received {value!r}", value=True)

    def argument_value(self, value: Any, path: ConfigPath, categories: tuple[str, ...]):
        if isinstance(value, str):
            if categories[0] == "layers":
                self.instance(value, {}, path, categories, written_as_string=True)
            else:
                self.identifier(value, path, categories)
        elif isinstance(value, dict) and len(value) == 1:
            self.object(value, path, categories)

    # -- the config's sections ----------------------------------------------------------------

    def check(self, raw: dict):
        model = _mapping(raw.get("model"))
        for i, layer in enumerate(_items(model.get("sequential"))):
            self.object(layer, ("model", "sequential", i), ("layers",), strings="class")
        functional = model.get("functional")
        outputs: list[str] | None = None
        if isinstance(functional, dict):
            outputs = self.functional(functional, ("model", "functional"))
        self.unique_names(model)
        data = _mapping(raw.get("data"))
        for i, layer in enumerate(_items(data.get("augment"))):
            self.object(layer, ("data", "augment", i), ("layers",), strings="class")
        compile_ = _mapping(raw.get("compile"))
        if "optimizer" in compile_:
            self.object(compile_["optimizer"], ("compile", "optimizer"), ("optimizers",))
        self.losses(compile_.get("loss"), ("compile", "loss"), outputs)
        self.metrics(compile_.get("metrics"), ("compile", "metrics"), outputs)
        weights = compile_.get("loss_weights")
        count = len(outputs) if outputs is not None else (1 if "sequential" in model else None)
        if count is not None and loss_weights_problem(weights, count):
            self.report(("compile", "loss_weights"), loss_weights_problem(weights, count), value=True)
        if isinstance(weights, dict) and outputs is not None:
            for output in weights:
                self.output_name(output, ("compile", "loss_weights"), outputs)
        fit = _mapping(raw.get("fit"))
        for i, callback in enumerate(_items(fit.get("callbacks"))):
            self.object(callback, ("fit", "callbacks", i), ("callbacks",), strings="class")
        search = _mapping(raw.get("search"))
        for key in _mapping(search.get("space")):
            try:
                parse_path(str(key))
            except ValueError as error:
                self.report(("search", "space"), f"keys are config paths: {error}", ("search", "space", key))

    def unique_names(self, model: dict):
        """Reports a layer `name` that another layer of the model already has."""
        layers = [
            (("model", "sequential", i) + tuple(layer)[:1], next(iter(layer.values())))
            for i, layer in enumerate(_items(model.get("sequential")))
            if is_class_mapping(layer)
        ]
        graph = _mapping(_mapping(model.get("functional")).get("layers"))
        for node, spec in graph.items():
            classes = [k for k in spec if k != "inputs"] if isinstance(spec, dict) else []
            kwargs = spec[classes[0]] if len(classes) == 1 and isinstance(spec[classes[0]], dict) else {}
            layers.append((("model", "functional", "layers", node) + tuple(classes[:1]), {"name": node, **kwargs}))
        for path, message in duplicate_names(layers):
            self.report(path, message, value=True)

    def losses(self, loss: Any, path: ConfigPath, outputs: list[str] | None):
        if loss is None:
            return
        if isinstance(loss, str) or is_class_mapping(loss):
            self.object(loss, path, ("losses",))
        elif isinstance(loss, dict):  # one loss per output
            for output, value in loss.items():
                self.output_name(output, path, outputs)
                if value is not None:
                    self.object(value, path + (output,), ("losses",))

    def metrics(self, metrics: Any, path: ConfigPath, outputs: list[str] | None):
        if isinstance(metrics, list):
            for i, metric in enumerate(metrics):
                self.object(metric, path + (i,), ("metrics",))
        elif isinstance(metrics, dict):  # metrics per output
            for output, values in metrics.items():
                self.output_name(output, path, outputs)
                for i, metric in enumerate(_items(values)):
                    self.object(metric, path + (output, i), ("metrics",))

    def output_name(self, output: Any, path: ConfigPath, outputs: list[str] | None):
        if outputs is not None and output not in outputs:
            expected = ", ".join(outputs)
            hint = did_you_mean(output, outputs)
            self.report(path, f"unknown output {output!r}{hint}; the model's outputs are: {expected}", path + (output,))


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def check_config(
    raw: dict,
    positions: Optional[Positions] = None,
    catalogue: Optional[Catalogue] = None,
    base_dir: Optional[Path] = None,
) -> list[Problem]:
    """Checks a raw config's Keras objects and functional graph against the Keras catalogue.

    Args:
        raw: the config as loaded (after overrides), before pydantic validation.
        positions: when given, problems come back sorted by their place in the file.
        catalogue: the catalogue to check against; by default the installed Keras's.
        base_dir: the config's folder, where modules of dotted class names are looked up first.

    Returns:
        The problems found, an empty list when there are none.
    """
    checker = _Checker(catalogue or load_catalogue(), base_dir)
    checker.check(raw)
    if positions is not None:
        checker.problems.sort(key=lambda p: positions.sort_key(p.where, value=p.value))
    return checker.problems


def check_object(value: Any, category: str, catalogue: Optional[Catalogue] = None) -> list[Problem]:
    """Checks one Keras object (an identifier or `{ClassName: kwargs}`) of a category.

    For other packages building objects outside the config file (e.g. `search` choices).
    """
    checker = _Checker(catalogue or load_catalogue())
    strings = "class" if category in ("layers", "callbacks") else "identifier"
    checker.object(value, (), (category,), strings=strings)
    return checker.problems


__all__ = ["check_config", "check_object", "argument_categories", "is_class_mapping"]
