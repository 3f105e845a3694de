"""A grid of samples per epoch from a generative model: samples/epoch_NNN.png in the run (report.html shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PER_EPOCH = 16  # samples in each epoch's grid: the same latent vectors every epoch, to watch them change


def sample_callbacks(run: Any, model: Any, train: Any, seed: int) -> list[Any]:
    """[the per-epoch sample grid callback] for a model that can be sampled (`dlflow.model.sampling`), else []."""
    from dlflow.model.sampling import can_sample

    if not can_sample(model):
        return []
    return [_sample_grid_class()(run.samples, image_shape(train), seed)]


def image_shape(data: Any) -> tuple[int, ...] | None:
    """The (height, width, channels) of a data set's single image input, or None."""
    specs = list(data.input_specs.values())
    return tuple(specs[0].shape) if len(specs) == 1 and specs[0].role == "image" else None


def _sample_grid_class():
    import keras

    from dlflow.model.sampling import draw, latent_vectors
    from dlflow.report.grid import write_grid

    class SampleGrid(keras.callbacks.Callback):
        """Writes samples/epoch_NNN.png at the end of every epoch (NNN: the epoch, from 1)."""

        def __init__(self, folder: Path, shape: tuple[int, ...] | None, seed: int):
            super().__init__()
            self.folder, self.shape, self.seed, self.latent = folder, shape, seed, None

        def on_epoch_end(self, epoch, logs=None):
            if self.latent is None:
                self.latent = latent_vectors(self.model, PER_EPOCH, self.seed)
            images = draw(self.model, PER_EPOCH, image_shape=self.shape, seed=self.seed, latent=self.latent)
            write_grid(images, self.folder / f"epoch_{epoch + 1:03d}.png")

    return SampleGrid
