"""A time series' windows as a lazy array: the series stored once, each window an index range.

`SeriesWindows` stands where an in-memory dataset holds the (windows, steps, features) array
of a time series: it has the array's `shape`, `dtype` and `len`; indexing it with sample
indices gives the subset of windows (so the chronological split and the folds pick window
ends, not copies of the steps), and only `np.asarray` (a bounded sample: the shallow baselines,
the export parity check) gathers the steps. Training reads it through `windows_tf_dataset`: the
series is one tensor and each batch gathers its windows' rows, as
`keras.utils.timeseries_dataset_from_array` does, so memory is proportional to the series, not
to windows x length.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

GATHER_ROWS = 1 << 22  # rows read at once by the pass over the series for the step moments
HASH_ROWS = 1 << 18  # rows (or windows) hashed at once by `digests`
SHUFFLE_BUFFER_MAX = 100_000  # up to this many windows, the in-memory arrays' shuffle (one buffer of every index)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64


@dataclass
class SeriesWindows:
    """Windows over `values` (rows, features): window i holds rows `ends[i] + offsets`.

    Args:
        values: the whole series, float32, one row per time step.
        ends: each window's last row.
        offsets: the rows of a window relative to its last row (`-(steps - 1) * rate, ..., -rate, 0`).
    """

    values: np.ndarray
    ends: np.ndarray
    offsets: np.ndarray
    tensors: dict = field(default_factory=dict, repr=False, compare=False)  # shared by every subset (`values`)

    dtype = np.dtype("float32")

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.ends), len(self.offsets), self.values.shape[1])

    @property
    def ndim(self) -> int:
        return 3

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, tuple):  # e.g. windows[i, -1, 0]: the steps of the chosen windows
            return np.asarray(self[index[0]])[(slice(None),) * (not _is_scalar(index[0])) + index[1:]]
        if _is_scalar(index):
            return self.values[int(self.ends[index]) + self.offsets]
        return replace(self, ends=self.ends[index])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """Gather every window's steps (only for bounded samples; training gathers per batch)."""
        array = self.values[self.ends[:, None] + self.offsets[None, :]]
        return array if dtype is None else array.astype(dtype)

    def last_step(self) -> np.ndarray:
        """Each window's last row, (windows, features): what the last-value baseline forecasts from."""
        return self.values[self.ends]

    def step_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance per feature over every step of every window (a row counts once per window
        holding it), as over the gathered array, without gathering it (GATHER_ROWS rows at a time)."""
        weights = self._row_weights()
        total = float(weights.sum())
        mean = (
            sum(
                weights[rows].astype("float64") @ self.values[rows].astype("float64")
                for rows in _chunks(len(self.values), GATHER_ROWS)
            )
            / total
        )
        variance = np.zeros_like(mean)
        for rows in _chunks(len(self.values), GATHER_ROWS):
            centred = self.values[rows].astype("float64") - mean
            variance += weights[rows].astype("float64") @ (centred * centred)
        return mean, variance / total

    def digests(self) -> np.ndarray:
        """One 64-bit hash per window over its steps' values (equal windows, equal digests).

        A polynomial hash in O(rows): per residue of the sampling rate, prefix sums of each row's
        hash times powers of an odd constant, so no window is gathered; rows and windows are
        hashed HASH_ROWS at a time, so the extra memory is one prefix array."""
        rate = self._rate()
        out = np.zeros(len(self.ends), np.uint64)
        for residue in range(rate):
            chosen = slice(None) if rate == 1 else np.flatnonzero(self.ends % rate == residue)
            prefix = _prefix_sums(self.values[residue::rate])
            out[chosen] = _window_sums(prefix, self.ends[chosen], rate, len(self.offsets))
        return out

    def fingerprint_into(self, digest: Any) -> None:
        """Feed the series and the window layout to a hashlib digest (the data's fingerprint)."""
        from dlflow.data.dataset import as_bytes

        digest.update(f"windows {self.values.shape} {len(self.offsets)}".encode())
        digest.update(as_bytes(np.ascontiguousarray(self.values)))
        digest.update(as_bytes(np.ascontiguousarray(self.ends, dtype=np.int64)))
        digest.update(as_bytes(np.ascontiguousarray(self.offsets, dtype=np.int64)))

    def _row_weights(self) -> np.ndarray:
        """How many windows hold each row (a difference array per residue of the sampling rate)."""
        rate = self._rate()
        change = np.zeros(len(self.values) + rate, np.int64)
        for at in _chunks(len(self.ends), HASH_ROWS):
            ends = self.ends[at]
            np.add.at(change, ends + self.offsets[0], 1)
            np.add.at(change, ends + rate, -1)
        for residue in range(rate):
            np.cumsum(change[residue::rate], out=change[residue::rate])
        return change[: len(self.values)]

    def _rate(self) -> int:
        return int(self.offsets[1] - self.offsets[0]) if len(self.offsets) > 1 else 1


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of (rows, features) float32 values, over their bits."""
    out = np.zeros(len(rows), np.uint64)
    for column in range(rows.shape[1]):
        out *= _MIX
        out ^= np.ascontiguousarray(rows[:, column]).view(np.uint32) + np.uint64(column + 1)
    return out


def _prefix_sums(sequence: np.ndarray) -> np.ndarray:
    """prefix[q] = sum over p < q of row_hash(sequence[p]) * MIX ** (p + 1), modulo 2**64; built HASH_ROWS
    rows at a time."""
    prefix = np.zeros(len(sequence) + 1, np.uint64)
    running = np.uint64(0)
    for start in range(0, len(sequence), HASH_ROWS):
        chunk = _row_hashes(sequence[start : start + HASH_ROWS])
        chunk *= _powers(np.arange(start + 1, start + 1 + len(chunk)), _MIX)
        np.cumsum(chunk, out=prefix[start + 1 : start + 1 + len(chunk)])
        prefix[start + 1 : start + 1 + len(chunk)] += running
        running = prefix[start + len(chunk)]
    return prefix


def _window_sums(prefix: np.ndarray, ends: np.ndarray, rate: int, steps: int) -> np.ndarray:
    """sum over k < steps of row_hash(row q) * MIX ** (k + 1) for the window's rows q (every `rate`-th one
    ending at each of `ends`): its prefix difference times MIX ** -first, HASH_ROWS windows at a time."""
    inverse = np.uint64(pow(int(_MIX), -1, 1 << 64))
    out = np.empty(len(ends), np.uint64)
    for start in range(0, len(ends), HASH_ROWS):
        last = ends[start : start + HASH_ROWS] // rate
        first = last - (steps - 1)
        out[start : start + len(last)] = (prefix[last + 1] - prefix[first]) * _powers(first, inverse)
    return out


def _powers(exponents: np.ndarray, base: np.uint64) -> np.ndarray:
    """base ** exponents modulo 2**64, elementwise (square and multiply over the exponents' bits)."""
    result = np.ones(len(exponents), np.uint64)
    exponents = exponents.astype(np.uint64)
    square = np.full(len(exponents), base, np.uint64)
    while exponents.any():
        odd = (exponents & np.uint64(1)).astype(bool)
        result[odd] *= square[odd]
        square *= square
        exponents = exponents >> np.uint64(1)
    return result


def windows_tf_dataset(
    windows: SeriesWindows, targets: Any, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False
) -> Any:
    """A tf.data pipeline of (windows, targets) batches gathered from the series held once as a tensor.

    Up to SHUFFLE_BUFFER_MAX windows, batches are those of an in-memory array (the same seeded
    shuffle of the sample indices, so earlier runs are reproduced); beyond, where a shuffle buffer
    of every index would cost about 1 KB per window, each epoch draws a seeded permutation of the
    indices as one tensor (int32 below 2**31 windows: half the memory, the same permutation)."""
    import tensorflow as tf

    if "values" not in windows.tensors:  # one tensor of the series for every part (train, validation, test)
        windows.tensors["values"] = tf.constant(windows.values)
    values, ends, offsets = windows.tensors["values"], _last_rows(windows.ends), tf.constant(windows.offsets)
    targets = tf.nest.map_structure(tf.convert_to_tensor, targets)
    indices = _index_batches(
        len(windows), batch_size=batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder
    )

    def gather(batch: Any) -> Any:
        rows = ends(batch)[:, None] + offsets[None, :]
        return tf.gather(values, rows), tf.nest.map_structure(lambda t: tf.gather(t, batch), targets)

    return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def _last_rows(ends: np.ndarray) -> Callable[[Any], Any]:
    """Sample indices -> their windows' last rows: `first + step * i` when the ends are evenly spaced (a
    part of the chronological split), else gathered from a tensor of them."""
    import tensorflow as tf

    from dlflow.data.dataset import evenly_spaced

    spaced = evenly_spaced(ends)
    if spaced is not None:
        first, step = spaced
        return lambda batch: first + step * tf.cast(batch, tf.int64)
    held = tf.constant(ends, dtype=tf.int64)
    return lambda batch: tf.gather(held, batch)


def _index_batches(n: int, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool) -> Any:
    """Batches of sample indices: in order, or reshuffled every epoch with the seed."""
    import tensorflow as tf

    if not shuffle or n <= SHUFFLE_BUFFER_MAX:
        indices = tf.data.Dataset.range(n)
        if shuffle:
            indices = indices.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
        return indices.batch(batch_size, drop_remainder=drop_remainder)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)

    def permuted(draw: Any) -> Any:
        dtype = tf.int32 if n < 2**31 else tf.int64
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=dtype), seed=tf.stack([draw, seed]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=drop_remainder)

    batches = n // batch_size if drop_remainder else -(-n // batch_size)
    return seeds.flat_map(permuted).apply(tf.data.experimental.assert_cardinality(batches))


def _chunks(n: int, size: int) -> Iterator[slice]:
    """Slices of `size` over range(n) (at least one, possibly empty)."""
    return (slice(start, start + size) for start in range(0, max(n, 1), size))


def _is_scalar(index: Any) -> bool:
    return isinstance(index, (int, np.integer))
