"""Exact duplicate inputs across the parts of a split (leakage), counted and located.

Every sample is hashed once (`row_digests`, 64 bits over all its inputs); the parts are compared
through the sorted digests of the first part of each pair (`np.searchsorted`), so the extra
memory is a few arrays of one integer per sample, never a table of them (a 10-million-window
series costs about as much as its digests).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from dlflow.data.dataset import Dataset

PAIRS = (("train", "validation"), ("train", "test"), ("validation", "test"))
DUPLICATE_EXAMPLES = 5  # duplicate pairs listed per pair of parts
WIDE_ROW = 256  # values per sample above which rows are hashed as bytes, one by one
_COMBINE = np.uint64(1_000_003)


def find_duplicates(split: Any, dataset: Dataset) -> dict[str, Any]:
    """Samples whose inputs exactly repeat a sample of another part (leakage), counted and located.

    Returns:
        `{"train_validation": n, "train_test": n, "validation_test": n, "repeated_rows": n,
        "examples": {"train_test": [[i, j], ...], ...}}`: for each pair of parts, how many samples
        of the second part have the inputs of a sample in the first; `repeated_rows`: samples
        repeating an earlier sample anywhere; `examples`: up to 5 (first part, second part)
        sample index pairs per pair of parts (indices into the data set, 0-based).
    """
    digests = row_digests(dataset)
    out: dict[str, Any] = {"repeated_rows": len(digests) - _distinct(digests)}
    examples: dict[str, list[list[int]]] = {}
    for first in ("train", "validation"):
        a = getattr(split, first)
        known = np.sort(digests[a])
        for second in [s for f, s in PAIRS if f == first]:
            b = getattr(split, second)
            shared = _members(digests[b], known)
            key = f"{first}_{second}"
            out[key] = int(shared.sum())
            if shared.any():
                examples[key] = [[_first_with(digests, a, digests[j]), int(j)] for j in b[shared][:DUPLICATE_EXAMPLES]]
        del known
    out["examples"] = {f"{f}_{s}": examples[f"{f}_{s}"] for f, s in PAIRS if f"{f}_{s}" in examples}
    return out


def row_digests(dataset: Dataset) -> np.ndarray:
    """One 64-bit hash per sample over all its inputs (vectorized; for finding exact duplicates).

    Image files hash by content (identical files are duplicates; the same picture re-encoded is not)."""
    combined = None
    for name in sorted(dataset.inputs):
        hashed = _input_digests(dataset.inputs[name], len(dataset))
        if combined is None:  # (0 * k) ^ h: the first input's digests as they are
            combined = np.array(hashed, dtype=np.uint64)
        else:
            combined *= _COMBINE
            combined ^= hashed
    return combined if combined is not None else np.zeros(len(dataset), dtype=np.uint64)


def _input_digests(values: Any, n: int) -> np.ndarray:
    """One 64-bit hash per sample of one input."""
    import pandas as pd

    if hasattr(values, "digests"):  # image files, series windows: their content digests
        digests = values.digests
        return np.asarray(digests() if callable(digests) else digests, np.uint64)
    array = np.asarray(values).reshape(n, -1)
    if array.shape[1] <= WIDE_ROW:
        frame = pd.DataFrame(array.astype(str) if array.dtype == object else array)
        return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(np.ascontiguousarray(row).tobytes(), digest_size=8).digest(), "little")
            for row in array
        ),
        dtype=np.uint64,
        count=n,
    )


def _distinct(digests: np.ndarray) -> int:
    """How many different digests there are (one sorted copy; no unique array)."""
    if not len(digests):
        return 0
    ordered = np.sort(digests)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1


def _members(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Whether each value is in `known` (sorted)."""
    if not len(known):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(known, values)
    np.minimum(at, len(known) - 1, out=at)
    return known[at] == values


def _first_with(digests: np.ndarray, indices: np.ndarray, digest: np.uint64) -> int:
    """The first of `indices` (in their order) whose sample has `digest`."""
    return int(indices[int(np.flatnonzero(digests[indices] == digest)[0])])
