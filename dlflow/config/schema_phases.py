"""`fit.phases`: training in phases, e.g. a frozen backbone first, then its top layers fine-tuned.

```yaml
fit:
  phases:
    - {epochs: 5, trainable: none}                                   # the head alone
    - {epochs: 5, trainable: {top_layers: 20}, learning_rate: 1.0e-5}  # + the backbone's last 20 layers
```

`trainable` says which of `model.backbone`'s layers learn in the phase (the head always does):
`none`, `all`, `{top_layers: N}` (its last N layers) or `{from_layer: NAME}` (its layers from
the first one named NAME, or whose name starts with `NAME_`, to the end). A pretrained backbone's
BatchNormalization layers (weights imagenet or a file) stay frozen, in inference mode, in every
phase; with weights: null they learn with their phase's layers. `learning_rate` replaces
compile.optimizer's learning rate for the phase; each phase starts a fresh optimizer.
"""

from typing import Any, Literal, Optional, Union

from pydantic import Field, PositiveInt

from dlflow.config.schema_base import Section


class TopLayers(Section):
    """The backbone's last N layers learn."""

    top_layers: PositiveInt = Field(description="How many of the backbone's last layers learn.")


class FromLayer(Section):
    """The backbone's layers from the one named (or whose name starts with `<from_layer>_`) learn."""

    from_layer: str = Field(
        min_length=1,
        description=("The first backbone layer that learns (its name, or a prefix before `_`), through the last."),
    )


class PhaseConfig(Section):
    """One phase of `fit.phases`: how many epochs, which backbone layers learn, at which learning rate."""

    epochs: PositiveInt = Field(description="Epochs of this phase (the phases' total is fit.epochs).")
    trainable: Union[Literal["none", "all"], TopLayers, FromLayer] = Field(
        description=(
            "The backbone's layers that learn in this phase: none, all, {top_layers: N} or {from_layer: NAME}; "
            "a pretrained backbone's BatchNormalization layers stay frozen"
        )
    )
    learning_rate: Optional[float] = Field(
        None,
        gt=0,
        description=("The phase's learning rate (replaces compile.optimizer's); null keeps compile.optimizer's"),
    )


def settle_phase_epochs(data: Any) -> Any:
    """`fit.epochs` with phases: the phases' total when left out; a smaller number stops the run
    early (e.g. `--final`'s best epoch count); a larger one is an error (epochs no phase covers)."""
    if not isinstance(data, dict) or not isinstance(data.get("phases"), list):
        return data
    counts = [p.get("epochs") for p in data["phases"] if isinstance(p, dict)]
    if not counts or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in counts):
        return data  # pydantic reports the phase
    total = sum(counts)
    epochs = data.get("epochs")
    if epochs is None:
        return {**data, "epochs": total}
    if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs > total:
        raise ValueError(
            f"epochs: {epochs} is more than fit.phases cover ({total} in all); with phases, leave "
            f"fit.epochs out (it is their total) or give at most {total} to stop early"
        )
    return data
