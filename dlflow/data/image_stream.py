"""Image files to a tf.data pipeline: decoded in parallel, resized, cached by rule, batched, prefetched.

Each file is read and decoded with `tf.io.decode_image` (JPEG, PNG, BMP, GIF's first frame) in a
parallel map (`num_parallel_calls=AUTOTUNE`, deterministic order), converted to the colour mode
(grayscale, rgb, rgba: as PIL converts, alpha dropped or made opaque), resized bilinearly with
antialiasing when its size differs, rounded to uint8 (as PIL's resize of an 8-bit image), batched,
then cast to float32 raw pixels 0-255 (the model's Rescaling maps them to [0, 1]).

`data.cache` (see `resolve_cache`):
- memory: the decoded uint8 images are kept after the first epoch; each epoch reshuffles all of them;
- disk: kept in `runs/<name>/cache/` (a file per part and content); the files are shuffled once with
  the seed before caching, then each epoch reshuffles within a buffer of `DISK_SHUFFLE_BUFFER`;
- none: the file list is reshuffled each epoch and every image decoded again (memory stays flat).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Any, Iterator

import numpy as np

from dlflow.data.image_files import CHANNELS, ImageFiles
from dlflow.errors import DataError

DISK_SHUFFLE_BUFFER = 2048
_DECODE_WORDS = re.compile(r"jpeg|png|gif|bmp|image|decode|no such file|not found", re.IGNORECASE)


def image_tf_dataset(
    files: ImageFiles, targets: Any, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False
) -> Any:
    """A tf.data pipeline of (pixels, targets) batches over image files.

    Args:
        files: the samples' files.
        targets: the encoded targets (an array, or a dict of arrays by output name), one row per file.
        batch_size, shuffle, seed, drop_remainder: as `dlflow.data.pipeline.to_tf_dataset`.
    """
    import tensorflow as tf

    n = len(files)
    decode = decoder(files.size, files.color_mode)
    paths = np.asarray(files.paths(), dtype=object)
    if files.cache == "disk" and shuffle:
        order = np.random.default_rng(seed).permutation(n)
        paths, targets = paths[order], tf.nest.map_structure(lambda t: np.asarray(t)[order], targets)
    path_t = tf.constant(paths.astype(str), dtype=tf.string) if n else tf.zeros([0], tf.string)
    target_t = tf.nest.map_structure(tf.convert_to_tensor, targets)
    if files.cache in ("memory", "disk"):
        data = tf.data.Dataset.from_tensor_slices((path_t, target_t))
        data = data.map(lambda p, y: (decode(p), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        data = data.cache(_cache_file(files, paths) if files.cache == "disk" else "")
        if shuffle:
            buffer = max(n, 1) if files.cache == "memory" else DISK_SHUFFLE_BUFFER
            data = data.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    else:
        data = tf.data.Dataset.range(n)
        if shuffle:
            data = data.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)

        def load(i: Any) -> Any:
            return decode(tf.gather(path_t, i)), tf.nest.map_structure(lambda t: tf.gather(t, i), target_t)

        data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    data = data.batch(batch_size, drop_remainder=drop_remainder)
    data = data.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def decoder(size: tuple[int, int], color_mode: str) -> Any:
    """A tf function: file path -> uint8 image (height, width, channels) in `color_mode`, resized to `size`."""
    import tensorflow as tf

    channels = CHANNELS[color_mode]
    height, width = size

    def decode(path: Any) -> Any:
        image = tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False, dtype=tf.uint8)
        image = _convert(image, color_mode)
        shape = tf.shape(image)
        same = tf.logical_and(tf.equal(shape[0], height), tf.equal(shape[1], width))
        image = tf.cond(same, lambda: image, lambda: _resize(image, size))
        image.set_shape((height, width, channels))
        return image

    return decode


def decode_all(files: ImageFiles) -> np.ndarray:
    """Every file decoded into one float32 array (for bounded samples only)."""
    if len(files) == 0:
        return np.empty(files.shape, dtype="float32")
    with naming_bad_images(files):
        batches = image_tf_dataset(
            replace_cache(files), np.zeros(len(files), "int8"), batch_size=256, shuffle=False, seed=0
        )
        return np.concatenate([x.numpy() for x, _ in batches])


def replace_cache(files: ImageFiles) -> ImageFiles:
    from dataclasses import replace

    return replace(files, cache="none")


@contextlib.contextmanager
def naming_bad_images(*parts: Any) -> Iterator[None]:
    """Turn a decode failure inside a tf.data pipeline into a DataError naming the file.

    `parts` are Datasets or ImageFiles; on a TensorFlow InvalidArgumentError their files are decoded
    one by one (only then) to find the culprit; the error is re-raised when none is found.
    """
    import tensorflow as tf

    try:
        yield
    except (
        tf.errors.InvalidArgumentError,
        tf.errors.DataLossError,
        tf.errors.UnknownError,
        tf.errors.NotFoundError,
    ) as exc:
        if not _DECODE_WORDS.search(str(exc)):
            raise  # not about reading an image (e.g. a model's shapes): no scan
        for part in parts:
            files = part if isinstance(part, ImageFiles) else _files_of(part)
            if files is not None:
                _raise_for_bad_file(files, exc)
        raise


def _files_of(dataset: Any) -> ImageFiles | None:
    inputs = getattr(dataset, "inputs", None) or {}
    return next((v for v in inputs.values() if isinstance(v, ImageFiles)), None)


def _raise_for_bad_file(files: ImageFiles, exc: Exception) -> None:
    import tensorflow as tf

    decode = decoder(files.size, files.color_mode)
    for path, rel in zip(files.paths(), files.relpaths):
        try:
            decode(tf.constant(path))
        except (
            tf.errors.InvalidArgumentError,
            tf.errors.DataLossError,
            tf.errors.UnknownError,
            tf.errors.NotFoundError,
        ) as bad:
            reason = (bad.message or str(bad)).strip().splitlines()[0]
            raise DataError(
                f"{files.root / rel}: cannot decode this image ({reason}); it passed the header "
                f"check: fix or remove it",
                config_path=("data", "source"),
            ) from exc


def _convert(image: Any, color_mode: str) -> Any:
    """Any decoded channel count (1, 2, 3, 4) to `color_mode`, as PIL's convert does."""
    import tensorflow as tf

    c = tf.shape(image)[-1]
    rgb = tf.cond(c < 3, lambda: tf.repeat(image[..., :1], 3, axis=-1), lambda: image[..., :3])
    if color_mode == "rgb":
        return rgb
    if color_mode == "grayscale":
        gray = tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(rgb, tf.float32))), tf.uint8)
        return tf.cond(c < 3, lambda: image[..., :1], lambda: gray)
    has_alpha = tf.logical_or(tf.equal(c, 2), tf.equal(c, 4))
    opaque = lambda: tf.fill(tf.shape(image[..., :1]), tf.constant(255, tf.uint8))  # noqa: E731
    alpha = tf.cond(has_alpha, lambda: image[..., -1:], opaque)
    return tf.concat([rgb, alpha], axis=-1)


def _resize(image: Any, size: tuple[int, int]) -> Any:
    import tensorflow as tf

    resized = tf.image.resize(tf.cast(image, tf.float32), size, method="bilinear", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _cache_file(files: ImageFiles, paths: np.ndarray) -> str:
    """A disk cache file named after the part's files, contents, size and colour mode."""
    if files.cache_dir is None:
        raise DataError(
            "data.cache: disk needs the experiment's folder; it is only available to train, tune, cv and evaluate",
            config_path=("data", "cache"),
        )
    digest = hashlib.sha256()
    files.fingerprint_into(digest)
    digest.update("\0".join(map(str, paths)).encode("utf-8", "surrogatepass"))
    files.cache_dir.mkdir(parents=True, exist_ok=True)
    return str(files.cache_dir / f"images-{digest.hexdigest()[:16]}")
