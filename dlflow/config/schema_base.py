"""The building blocks of the config schema: the strict section base and the Keras-object type."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict

from dlflow.choices import EXPORT_FORMATS, QUANTIZE_MODES, TASKS  # noqa: F401  (their home is dlflow/choices.py)


def _one_key(value: Any) -> Any:
    if isinstance(value, dict) and len(value) != 1:
        keys = ", ".join(map(str, value)) or "none"
        raise ValueError(f"expected a one-key mapping {{ClassName: {{kwargs}}}}, received keys: {keys}")
    return value


# A Keras object: "relu" or {Dense: {units: 10}} (kwargs may be omitted: {MaxPooling2D: null}).
# The one-key rule is part of the type, so a problem is reported at the item that breaks it.
KerasObject = Union[str, Annotated[dict[str, Union[dict[str, Any], None]], BeforeValidator(_one_key)]]


class Section(BaseModel):
    """Base for every config section: unknown keys are errors.

    For start-up time (`dlflow validate`): validators are built when a section is first used
    (defer_build), and no field is checked against pydantic's `model_` names (none has one).
    The schema modules leave out `from __future__ import annotations`: pydantic would compile
    and evaluate every annotation string.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, defer_build=True, protected_namespaces=()
    )
