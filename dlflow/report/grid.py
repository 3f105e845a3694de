"""Image grids as PNG files: samples drawn from a generative model (`dlflow sample`, samples/ per epoch)."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.runs.files import write_bytes

PAD = 2  # pixels between cells and around the grid
MIN_CELL = 32  # small images (8x8 digits) are enlarged (nearest neighbour) to at least this many pixels


def grid_layout(count: int, height: int, width: int) -> dict[str, Any]:
    """Columns, rows, the enlarged cell and the PNG's size for `count` images of height x width pixels.

    Columns are ceil(sqrt(count)); each image is enlarged by an integer `scale` to at least
    `MIN_CELL` pixels; cells are `PAD` pixels apart and from the edges.
    """
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    scale = max(1, math.ceil(MIN_CELL / max(height, width)))
    cell = (height * scale, width * scale)
    size = (columns * (cell[1] + PAD) + PAD, rows * (cell[0] + PAD) + PAD)  # (width, height), as PIL says
    return {"columns": columns, "rows": rows, "scale": scale, "cell": list(cell), "size": list(size)}


def image_grid(images: np.ndarray) -> np.ndarray:
    """One uint8 picture (height, width, channels) of `images` (n, h, w, c), values in [0, 1] (clipped)."""
    count, height, width, channels = images.shape
    layout = grid_layout(count, height, width)
    scale, (cell_h, cell_w) = layout["scale"], layout["cell"]
    canvas = np.full((layout["size"][1], layout["size"][0], channels), 255, dtype=np.uint8)
    pixels = (np.clip(np.nan_to_num(images), 0.0, 1.0) * 255).round().astype(np.uint8)
    for i, image in enumerate(pixels):
        row, column = divmod(i, layout["columns"])
        top, left = PAD + row * (cell_h + PAD), PAD + column * (cell_w + PAD)
        canvas[top : top + cell_h, left : left + cell_w] = image.repeat(scale, axis=0).repeat(scale, axis=1)
    return canvas


def write_grid(images: np.ndarray, path: Path) -> dict[str, Any]:
    """Write `images` (n, h, w, c in [0, 1]; c 1, 3 or 4) as a PNG grid, atomically; returns its layout."""
    from PIL import Image

    canvas = image_grid(images)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[canvas.shape[-1]]
    buffer = io.BytesIO()
    Image.fromarray(canvas[..., 0] if mode == "L" else canvas, mode=mode).save(buffer, format="PNG")
    write_bytes(Path(path), buffer.getvalue())
    return {"file": str(path), "samples": int(images.shape[0]), **grid_layout(*images.shape[:3])}
