"""Generates the KerasHub catalogue: the `keras_hub.*` classes a config may name, without importing KerasHub.

Run it whenever the installed keras-hub changes (a test checks the committed file is current):

```
python -m dlflow.config.make_hub_catalogue            # rewrites dlflow/config/keras_hub_catalogue.json
python -m dlflow.config.make_hub_catalogue -o FILE    # writes FILE instead
```

Same layout as the Keras catalogue (`make_catalogue`), with classes named by their full dotted
path (`keras_hub.layers.TransformerEncoder`), so validation checks a config's `keras_hub.` names,
their arguments and a functional node's named inputs the way it checks Keras's own.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from dlflow.config.catalogue import FORMAT_VERSION
from dlflow.config.make_catalogue import class_signature, layer_call, render

HUB_CATALOGUE_PATH = Path(__file__).with_name("keras_hub_catalogue.json")
# category -> (KerasHub module, Keras base class of its classes)
HUB_CATEGORIES = {"layers": ("keras_hub.layers", "Layer"), "metrics": ("keras_hub.metrics", "Metric")}


def build_hub_catalogue() -> dict[str, Any]:
    """Introspects the installed KerasHub into the catalogue's JSON-ready form."""
    import keras
    import keras_hub

    categories: dict[str, Any] = {}
    for category, (module_name, base_name) in HUB_CATEGORIES.items():
        module = importlib.import_module(module_name)
        base = getattr(getattr(keras, category), base_name)
        classes: dict[str, Any] = {}
        for name in sorted(dir(module)):
            obj = getattr(module, name, None)
            if name.startswith("_") or not inspect.isclass(obj) or not issubclass(obj, base):
                continue
            entry = class_signature(obj)
            if category == "layers":
                entry.update(layer_call(obj))
            classes[f"{module_name}.{name}"] = entry
        categories[category] = {"classes": classes, "identifiers": [], "ci_identifiers": []}
    return {"format": FORMAT_VERSION, "keras_version": keras_hub.__version__, "categories": categories}


def write_hub_catalogue(path: Path) -> Path:
    """Generates the catalogue from the installed KerasHub and writes it to `path` atomically."""
    from dlflow.config.make_catalogue import write_generated

    return write_generated(path, render(build_hub_catalogue()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=HUB_CATALOGUE_PATH)
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    ns = parser.parse_args(argv)
    if ns.stdout:
        sys.stdout.write(render(build_hub_catalogue()))
    else:
        print(write_hub_catalogue(ns.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
