"""The config's one rule for Keras objects: an identifier string (`adam`, `Flatten`) or `{ClassName: kwargs}`.

Every place that reads such a value splits it here.

```python
split_object({"Dense": {"units": 10}})   # ('Dense', {'units': 10})
split_object("relu")                     # ('relu', {})
is_class_mapping({"priority": "mse"})    # False: a mapping per output, not a class
```
"""

from __future__ import annotations

from typing import Any, Optional


def split_object(spec: Any) -> Optional[tuple[str, dict[str, Any]]]:
    """`(name, kwargs)` of `name` or `{Name: kwargs}` (kwargs a mapping or null); None for anything else."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict) and len(spec) == 1:
        name, kwargs = next(iter(spec.items()))
        if isinstance(name, str) and (kwargs is None or isinstance(kwargs, dict)):
            return name, dict(kwargs or {})
    return None


def is_class_mapping(value: Any) -> bool:
    """Whether `value` is `{ClassName: kwargs}`: one capitalised key, kwargs a mapping or null.

    Use it to tell a Keras object from a mapping per output (`loss: {priority: mse}`).
    """
    split = split_object(value) if isinstance(value, dict) else None
    return split is not None and split[0][:1].isupper()
