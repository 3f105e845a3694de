"""Image folders: one sub-folder per class of .png/.jpg/.bmp/.gif files, loaded as raw pixels.

```
photos/
  cat/001.jpg  cat/002.jpg ...
  dog/001.jpg  ...
```

The sorted sub-folder names are the classes, so predictions decode to folder names. Pixels stay
raw (0-255, float32); the model's own Rescaling layer (InputSpec.scale = 1/255) maps them to
[0, 1], so an exported model takes raw pixels too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset, InputSpec
from dlflow.data.folders import class_files, target_name
from dlflow.data.image_files import (
    CHANNELS,
    ImageFiles,
    Scanned,
    bad_files_error,
    resolve_cache,
    scan_files,
    skipped_entries,
)
from dlflow.data.no_target import wants_no_target
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
GRAY_PIL_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def load_image_dir(data: Any, task: str | None) -> Dataset:
    """Load `data.source`, a folder with one sub-folder of images per class, as files to stream.

    Every file is checked once without decoding (`dlflow.data.image_files.scan_files`); bad files
    are an error naming them, or with `data.on_bad_file: skip` left out and listed in
    `info["skipped_files"]` (the data card, the manifest). Pixels are decoded while training.

    Args:
        data: the config's DataConfig; `data.image.size` ([height, width]) resizes every image
            (required when the images differ in size), `data.image.color_mode` (grayscale, rgb,
            rgba) converts them; when it is not written, grayscale if every image is grayscale,
            else rgb. `data.cache`: memory, disk or none (left out: see `resolve_cache`).
        task: the config's task; inferred when None (two classes: binary, more: multiclass).

    Returns:
        A Dataset of kind "image" with one input "image" of shape (height, width, channels), an
        `ImageFiles` standing for float32 raw pixels 0-255, and one target named `data.target`
        (default "label").
    """
    folder = Path(data.source)
    scanned = _scanned(data, folder)
    files, labels = scanned.files, scanned.labels
    options = data.image
    size = tuple(options.size) if options is not None and options.size else None
    color_mode = _given_color_mode(options) or _infer_color_mode(scanned.modes)
    if size is None:
        size = _common_size(files, scanned.sizes, folder)
    images = ImageFiles(
        folder,
        np.asarray([str(f.relative_to(folder)) for f in files], dtype=object),
        np.asarray(scanned.digests, dtype=np.uint64),
        size,
        color_mode,
    )
    images.cache, cache_reason = resolve_cache(getattr(data, "cache", None), images)
    if wants_no_target(data):  # no target (see dlflow.data.no_target)
        encoded, spec = None, None
    else:
        encoded, spec = encode_target(
            np.asarray(labels, dtype=object), target_name(data.target), task, source=str(folder)
        )
    return Dataset(
        kind="image",
        inputs={"image": images},
        targets={spec.name: encoded} if spec else {},
        input_specs={"image": InputSpec("image", images.shape[1:], "float32", "image", scale=1.0 / 255.0)},
        target_specs={spec.name: spec} if spec else {},
        source=str(folder),
        info=_info(images, labels, cache_reason, scanned.bad),
    )


def _scanned(data: Any, folder: Path) -> Scanned:
    """The folder's image files, each checked once; bad ones an error, or set aside with on_bad_file: skip."""
    listed, listed_labels = class_files(folder, IMAGE_SUFFIXES, what="images", labeled=not wants_no_target(data))
    scanned = scan_files(listed, listed_labels)
    if scanned.bad and getattr(data, "on_bad_file", "error") != "skip":
        raise bad_files_error(folder, scanned.bad)
    if not scanned.files:
        raise DataError(
            f"{folder}: no readable images left after skipping {len(scanned.bad)} bad files",
            config_path=("data", "source"),
        )
    return scanned


def _info(images: ImageFiles, labels: list[str], cache_reason: str, bad: list[tuple[Path, str]]) -> dict:
    """The image folder's facts for the data card and the manifest."""
    classes = sorted(set(labels))
    info = {
        "classes": classes,
        "files": len(images),
        "image_size": list(images.size),
        "color_mode": images.color_mode,
        "per_class": {c: labels.count(c) for c in classes},
        "cache": images.cache,
        "cache_reason": cache_reason,
        "files_keyed": "relative path + content digest",
    }
    if bad:
        info["skipped_files"] = skipped_entries(images.root, bad)
    return info


def read_image(path: Path, *, color_mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file as float32 pixels (height, width, channels), 0-255.

    Args:
        path: a .png, .jpg, .bmp or .gif file (a GIF's first frame).
        color_mode: grayscale, rgb or rgba.
        size: (height, width) to resize to (bilinear), or None to keep the file's size.
    """
    try:
        return _decode(path, color_mode, size)
    except _decompression_bomb() as exc:
        raise _bomb(path) from exc
    except (OSError, ValueError, SyntaxError) as exc:  # PIL's ways of saying "not an image"
        raise DataError(f"{path}: unreadable image ({_reason(exc)})", config_path=("data", "source")) from exc


def image_input(encoded: bytes, spec: InputSpec) -> np.ndarray:
    """Encoded image bytes (PNG, JPEG, ...) as one example of an image input, as training fed it.

    The image is converted to the input's color mode (from its channels: 1 grayscale, 3 rgb,
    4 rgba), resized to its height and width (bilinear, as `read_image` does for an image
    folder), and its 0-255 pixels mapped to the data's own range (`1 / (255 * spec.scale)`: 0-16
    for the builtin digits, unchanged for an image folder).

    Raises:
        ValueError: the bytes are not an image PIL can decode (the message says why).
    """
    import io

    from PIL import Image

    height, width, channels = spec.shape
    mode = {value: key for key, value in CHANNELS.items()}[channels]
    try:
        pixels = _decode(io.BytesIO(encoded), mode, (height, width))
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image ({_reason(exc)})") from exc
    scale = spec.scale or 1.0 / 255.0
    return pixels * np.float32(1.0 / 255.0 / scale)


def _decode(source: Any, color_mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """Decode an image (a path or a file object) as float32 pixels (height, width, channels)."""
    from PIL import Image

    with Image.open(source) as image:
        image.load()  # decode now: a truncated file fails here
        image = image.convert(PIL_MODES[color_mode])
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype="float32")
    return array[..., np.newaxis] if array.ndim == 2 else array


def _given_color_mode(options: Any) -> str | None:
    if options is None or "color_mode" not in options.model_fields_set:
        return None
    return options.color_mode


def _infer_color_mode(modes: list[str]) -> str:
    """grayscale when every image is grayscale, else rgb (alpha is kept only when asked for)."""
    return "grayscale" if all(mode in GRAY_PIL_MODES for mode in modes) else "rgb"


def _common_size(files: list[Path], sizes: list[tuple[int, int]], folder: Path) -> tuple[int, int]:
    """The images' shared (height, width), or a DataError asking for data.image.size."""
    seen: dict[tuple[int, int], Path] = {}
    for file, size in zip(files, sizes, strict=True):
        seen.setdefault(size, file)
        if len(seen) > 1:
            (a, first), (b, second) = list(seen.items())[:2]
            raise DataError(
                f"{folder}: the images differ in size ({a[0]}x{a[1]} in {first.relative_to(folder)}, "
                f"{b[0]}x{b[1]} in {second.relative_to(folder)}); set data.image.size: [height, width] "
                f"to resize them all",
                config_path=("data", "image", "size"),
            )
    return next(iter(seen))


def _decompression_bomb() -> type:
    from PIL import Image

    return Image.DecompressionBombError


def _bomb(file: Path) -> DataError:
    from PIL import Image

    return DataError(
        f"{file}: more than {Image.MAX_IMAGE_PIXELS:,} pixels (PIL's decompression-bomb limit); refusing to decode it",
        config_path=("data", "source"),
    )


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
