"""The search-space part of the experiment config (`search:`, used by `dlflow tune`). Imports no TensorFlow."""

from typing import Any, Literal, Optional, Union

from pydantic import Field, model_serializer, model_validator

from dlflow.config.schema_base import Section

# Aliases for the builtins, so SearchDimension's fields can be named `int` and `float`.
_Int = int
_Float = float


class SearchDimension(Section):
    """One dimension of the search space: exactly one of `int`, `float` or `choice`.

    `{int: [32, 256], step: 32}`, `{float: [1.0e-4, 1.0e-2], log: true}`, `{choice: [relu, gelu]}`.
    Bounds are inclusive. `log` samples ranges on a log scale (the low bound must be above 0;
    with `step`, the step multiplies). Choices may be any config values, Keras objects included.
    """

    int: Optional[tuple[_Int, _Int]] = Field(None, description="[low, high]: whole numbers, bounds included.")
    float: Optional[tuple[_Float, _Float]] = Field(None, description="[low, high]: real numbers, bounds included.")
    choice: Optional[list[Any]] = Field(None, min_length=1, description="The values to try (any config values).")
    step: Optional[Union[_Int, _Float]] = Field(
        None, gt=0, description=("The spacing of a range's values (with log: the factor between them).")
    )
    log: bool = Field(
        False,
        description=("Sample the range on a log scale (accepted on a choice, where the listed values are tried)."),
    )

    @model_validator(mode="after")
    def _one_kind_with_sane_bounds(self) -> "SearchDimension":
        given = [k for k in ("int", "float", "choice") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of int: [low, high], float: [low, high], choice: [...]; "
                "received " + (", ".join(given) if given else "none")
            )
        if self.choice is not None:
            if self.step is not None:
                raise ValueError("'step' is for int and float ranges, not for a choice")
            return self
        low, high = self.bounds
        if low >= high:
            raise ValueError(f"expected [low, high] with low < high, received [{low:g}, {high:g}]")
        if self.log and low <= 0:
            raise ValueError(f"a log scale needs a low bound above 0, received {low:g}")
        if self.step is not None:
            if self.int is not None and self.step != _Int(self.step):
                raise ValueError(f"an int range takes a whole step, received {self.step:g}")
            if self.log and self.step <= 1:
                raise ValueError(f"with log: true the step multiplies, so it must be above 1, received {self.step:g}")
        return self

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> dict[str, Any]:
        # Written back as the user writes it: {int: [32, 256], step: 32}, without unset keys.
        return {k: v for k, v in handler(self).items() if v is not None and not (k == "log" and v is False)}

    @property
    def kind(self) -> str:
        """Which kind of dimension this is: int, float or choice."""
        return next(k for k in ("int", "float", "choice") if getattr(self, k) is not None)

    @property
    def bounds(self) -> tuple[Any, Any]:
        """[low, high] of an int or float range."""
        return self.int if self.int is not None else self.float  # type: ignore[return-value]


class SearchConfig(Section):
    """`dlflow tune`'s hyperparameter search (KerasTuner): keys of `space` are config paths, as for --set."""

    tuner: Literal["random", "grid", "bayesian", "hyperband"] = Field("bayesian", description="KerasTuner's tuner.")
    max_trials: int = Field(20, gt=0, description="Most trials (configurations) to train.")
    objective: str = Field("val_loss", description="A metric of the trials' history, e.g. val_accuracy.")
    direction: Optional[Literal["min", "max"]] = Field(
        None, description=("Whether the objective is minimized or maximized; left out: from its name.")
    )
    executions_per_trial: int = Field(1, gt=0, description="Fresh models per trial (other seeds), scores averaged.")
    space: dict[str, SearchDimension] = Field(
        min_length=1,
        description=(
            "Dimensions by config path, as for --set, e.g. model.sequential[1].Dense.units: {int: [32, 256]}."
        ),
    )
