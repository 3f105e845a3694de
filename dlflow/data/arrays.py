"""NumPy `.npz` files: named arrays map by name to the model's inputs and outputs."""

from __future__ import annotations

from pathlib import Path

from dlflow.data.dataset import Dataset, InputSpec, safe_name
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError


def load_npz(
    path: Path, *, target: str | list[str] | None, features: dict[str, str] | None, task: str | None
) -> Dataset:
    """Load an .npz: `target` names the target array(s); the other arrays are inputs.

    Float arrays of rank 3 or 4 per sample are passed to the model as they are; give
    `features: {name: ignore}` to leave an array out.
    """
    from dlflow.data.npzfile import read_npz

    arrays = read_npz(path)
    if not arrays:
        raise DataError(f"{path}: the .npz file holds no arrays", config_path=("data", "source"))
    targets = [] if target == "none" else [target] if isinstance(target, str) else list(target or [])
    if not targets and target != "none":  # none: data without a target (dlflow.data.no_target)
        raise DataError(
            f"{path}: data.target must name the target array(s); arrays are: {', '.join(arrays)}",
            config_path=("data", "target"),
        )
    missing = [t for t in targets if t not in arrays]
    if missing:
        raise DataError(
            f"{path}: no array named '{missing[0]}'; arrays are: {', '.join(arrays)}", config_path=("data", "target")
        )
    skip = {name for name, kind in (features or {}).items() if kind == "ignore"}
    sizes = {name: a.shape[0] if a.ndim else 0 for name, a in arrays.items() if name not in skip}
    if len(set(sizes.values())) != 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
        raise DataError(
            f"{path}: every array needs the same number of samples, received {detail}", config_path=("data", "source")
        )

    inputs, specs = {}, {}
    for name, array in arrays.items():
        if name in targets or name in skip:
            continue
        if array.dtype.kind in "US":
            array, dtype = array.astype(object), "string"
        elif array.dtype.kind in "iub":
            array, dtype = array.astype("int64"), "int64"
        else:
            array, dtype = array.astype("float32"), "float32"
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        key = safe_name(name)
        inputs[key] = array
        specs[key] = InputSpec(
            key, tuple(array.shape[1:]), dtype, "text" if dtype == "string" else "array", column=name
        )
    if not inputs:
        raise DataError(
            f"{path}: no input arrays besides the target(s) {', '.join(targets)}", config_path=("data", "target")
        )
    encoded, target_specs = {}, {}
    for name in targets:
        values, spec = encode_target(arrays[name], safe_name(name, fallback="target"), task, source=str(path))
        encoded[spec.name], target_specs[spec.name] = values, spec
    return Dataset("arrays", inputs, encoded, specs, target_specs, str(path))
