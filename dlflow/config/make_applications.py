"""Generates the list of `keras.applications` backbones that config validation checks against.

Run it whenever the installed Keras changes (a test checks the committed file is current):

```
python -m dlflow.config.make_applications            # rewrites dlflow/config/keras_applications.json
python -m dlflow.config.make_applications -o FILE    # writes FILE instead
```

Like `make_catalogue`, this imports Keras; nothing imports it at load time. For each public
application (`MobileNetV2`, `ResNet50`, ...) the file records:

- `module`: its `keras.applications.<module>`, whose `preprocess_input` the model applies;
- `args`: the keyword arguments the application function takes;
- `min_size`: the smallest input height and width it accepts (from its `obtain_input_shape`
  call; null when it checks none);
- `rgb_only`: its `preprocess_input` needs 3 channels (it changes or refuses a 1-channel image).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

APPLICATIONS_PATH = Path(__file__).with_name("keras_applications.json")


def _rgb_only(preprocess: Any) -> bool:
    import numpy as np

    gray = np.full((1, 2, 2, 1), 128.0, "float32")
    try:
        out = np.asarray(preprocess(gray.copy()))
    except Exception:  # noqa: BLE001 - refusing a 1-channel image is the answer
        return True
    return out.shape != gray.shape


def _min_sizes(source: Path) -> list[int]:
    """The `min_size=` values of an application's source file, or of the applications it builds on
    (`resnet_v2` calls `resnet.ResNet`)."""
    text = source.read_text()
    sizes = [int(size) for size in re.findall(r"min_size=(\d+)", text)]
    if not sizes:
        for base in re.findall(r"from keras\.src\.applications import (\w+)", text):
            other = source.with_name(f"{base}.py")
            if base != "imagenet_utils" and other.exists():
                sizes += [int(size) for size in re.findall(r"min_size=(\d+)", other.read_text())]
    return sizes


def generate() -> dict[str, Any]:
    """The applications of the installed Keras, by public name."""
    import importlib

    import keras

    out: dict[str, Any] = {}
    for name in sorted(dir(keras.applications)):
        function = getattr(keras.applications, name)
        if not (name[:1].isupper() and inspect.isfunction(function)):
            continue
        module = function.__module__.rsplit(".", 1)[-1]
        public = importlib.import_module(f"keras.applications.{module}")
        sizes = _min_sizes(Path(inspect.getsourcefile(function)))
        out[name] = {
            "module": module,
            "args": list(inspect.signature(function).parameters),
            "min_size": max(sizes) if sizes else None,
            "rgb_only": _rgb_only(public.preprocess_input),
        }
    return {"keras_version": keras.__version__, "applications": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=APPLICATIONS_PATH)
    args = parser.parse_args(argv)
    from dlflow.config.make_catalogue import write_generated

    write_generated(args.output, json.dumps(generate(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
