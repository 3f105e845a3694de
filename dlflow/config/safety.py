"""Safety checks of a raw config: confined callback paths, unsafe callbacks, absurd sizes.

Without Keras or TensorFlow, so `dlflow validate` finds them:

- path arguments of the config's callbacks (`CSVLogger.filename`, `BackupAndRestore.backup_dir`,
  `ModelCheckpoint.filepath`, `TensorBoard.log_dir`, ...) are relative paths that resolve inside
  `<run>/callbacks/`; an absolute path or one that climbs out with `..` is a config error;
- callbacks that run code or reach the network are refused unless `fit.allow_unsafe_callbacks`;
- sizes nobody can allocate (a layer of 10^12 units, a batch of 2^63 rows, 100000 x 100000
  images) are refused from simple estimates (bytes of parameters or of one batch) against the
  machine's memory.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any, Iterator

from dlflow.config.paths import ConfigPath
from dlflow.config.problems import Problem
from dlflow.errors import ConfigError

CALLBACKS_FOLDER = "callbacks"  # inside the run directory
CALLBACK_PATH_ARGUMENTS = {
    "BackupAndRestore": "backup_dir",
    "CSVLogger": "filename",
    "ModelCheckpoint": "filepath",
    "OrbaxCheckpoint": "directory",
    "TensorBoard": "log_dir",
}
CALLBACK_PATH_DEFAULTS = {"TensorBoard": "logs"}  # Keras's default would write in the current folder
UNSAFE_CALLBACKS = {
    "LambdaCallback": "takes Python functions",
    "LearningRateScheduler": "takes a Python function",
    "RemoteMonitor": "sends metrics over the network",
    "CallbackList": "wraps other callbacks unchecked",
}
CODE_ONLY = {"LambdaCallback", "LearningRateScheduler"}  # they take Python functions
_WIDTH_ARGUMENTS = ("units", "filters", "output_dim", "input_dim", "key_dim")
BYTES_PER_VALUE = 4
OPTIMIZER_COPIES = 4  # weights, gradients and two optimizer slots (Adam)


def memory_bytes() -> int:
    """The machine's physical memory (a generous bound; 1 TiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def check_safety(raw: dict) -> list[Problem]:
    """Problems with the config's callbacks and sizes (see the module docstring)."""
    problems: list[Problem] = []
    fit = raw.get("fit") if isinstance(raw.get("fit"), dict) else {}
    allow = fit.get("allow_unsafe_callbacks") is True
    callbacks = fit.get("callbacks")
    for i, spec in enumerate(callbacks if isinstance(callbacks, list) else []):
        problems += _callback_problems(spec, ("fit", "callbacks", i), allow)
    problems += _size_problems(raw, memory_bytes())
    return problems


def confined_path(value: str) -> str | None:
    """Why a callback path is refused, or None when it stays inside the callbacks folder."""
    if not isinstance(value, str) or not value.strip():
        return "expected a relative path inside the run's callbacks/ folder"
    if "\x00" in value:
        return "a path cannot contain a NUL character"
    if os.path.isabs(value) or value.startswith("~") or (len(value) > 1 and value[1] == ":"):
        return (
            f"absolute paths are refused: callback files stay inside the run directory "
            f"(write a relative path; it resolves inside <run>/{CALLBACKS_FOLDER}/)"
        )
    normal = posixpath.normpath(value.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return f"'..' climbs out of the run directory; write a path inside <run>/{CALLBACKS_FOLDER}/"
    return None


def _callback_problems(spec: Any, path: ConfigPath, allow: bool) -> list[Problem]:
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, dict) and len(spec) == 1:
        name, kwargs = next(iter(spec.items()))
        kwargs = kwargs if isinstance(kwargs, dict) else {}
    else:
        return []
    problems = []
    if name in CODE_ONLY:
        problems.append(
            Problem(path + (name,), f"refused: this callback {UNSAFE_CALLBACKS[name]}, which a YAML config cannot give")
        )
    elif name in UNSAFE_CALLBACKS and not allow:
        problems.append(
            Problem(
                path + (name,),
                f"refused: this callback {UNSAFE_CALLBACKS[name]}; set fit.allow_unsafe_callbacks: true to allow it",
            )
        )
    argument = CALLBACK_PATH_ARGUMENTS.get(name)
    if argument is not None and argument in kwargs:
        reason = confined_path(kwargs[argument])
        if reason:
            problems.append(Problem(path + (name, argument), reason))
    return problems


def confine_callback(spec: Any, run_dir: "os.PathLike[str] | str") -> Any:
    """`spec` with its path argument made absolute inside `<run_dir>/callbacks/` (checked first)."""
    name = spec if isinstance(spec, str) else next(iter(spec))
    argument = CALLBACK_PATH_ARGUMENTS.get(name)
    if argument is None:
        return spec
    kwargs = {} if isinstance(spec, str) else dict(next(iter(spec.values())) or {})
    value = kwargs.get(argument, CALLBACK_PATH_DEFAULTS.get(name))
    if value is None:
        return spec
    if confined_path(value):
        raise ConfigError(f"{name}.{argument}: {confined_path(value)}", config_path=("fit", "callbacks"))
    target = os.path.normpath(os.path.join(os.fspath(run_dir), CALLBACKS_FOLDER, value))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    kwargs[argument] = target
    return {name: kwargs}


def _size_problems(raw: dict, memory: int) -> list[Problem]:
    problems: list[Problem] = []
    fit = raw.get("fit") if isinstance(raw.get("fit"), dict) else {}
    batch = fit.get("batch_size")
    batch = batch if _is_int(batch) and batch > 0 else 1
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    image = data.get("image") if isinstance(data.get("image"), dict) else {}
    size = image.get("size")
    per_row = 1
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(_is_int(s) for s in size):
        per_row = max(size[0], 1) * max(size[1], 1) * 4  # up to 4 channels
        if per_row * BYTES_PER_VALUE > memory:
            problems.append(
                Problem(
                    ("data", "image", "size"),
                    _too_big(f"one decoded {size[0]} x {size[1]} image", per_row * BYTES_PER_VALUE, memory),
                )
            )
            return problems
    if batch * per_row * BYTES_PER_VALUE > memory:
        where = ("fit", "batch_size") if "batch_size" in fit else ("data", "image", "size")
        problems.append(
            Problem(where, _too_big(f"one batch of {batch} rows", batch * per_row * BYTES_PER_VALUE, memory))
        )
    problems += _layer_problems(raw, memory)
    return problems


def _layer_problems(raw: dict, memory: int) -> list[Problem]:
    """Parameters of the layers (each width x the width before it) against memory."""
    total, previous = 0, 1
    for path, kwargs in _layers(raw):
        for argument in _WIDTH_ARGUMENTS:
            width = kwargs.get(argument)
            if not _is_int(width) or width <= 0:
                continue
            total += previous * width
            previous = width
            need = total * BYTES_PER_VALUE * OPTIMIZER_COPIES
            if need > memory:
                return [Problem(path + (argument,), _too_big(f"about {total:.3g} parameters", need, memory))]
    return []


def _layers(raw: dict) -> Iterator[tuple[ConfigPath, dict]]:
    """(path of the class key, kwargs) of each sequential or functional layer written as a mapping."""
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    functional = model.get("functional") if isinstance(model.get("functional"), dict) else {}
    if isinstance(model.get("sequential"), list):
        nodes = [(("model", "sequential", i), v) for i, v in enumerate(model["sequential"])]
    elif isinstance(functional.get("layers"), dict):
        nodes = [(("model", "functional", "layers", k), v) for k, v in functional["layers"].items()]
    else:
        nodes = []
    for path, node in nodes:
        if not isinstance(node, dict):
            continue
        for name, kwargs in node.items():
            if name != "inputs" and isinstance(kwargs, dict):
                yield path + (name,), kwargs


def _too_big(what: str, need: int, memory: int) -> str:
    return f"{what} needs about {_human(need)} of memory; this machine has {_human(memory)}: choose a smaller size"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
