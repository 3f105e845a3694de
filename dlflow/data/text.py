"""Text folders: one sub-folder per class of UTF-8 .txt files, one document per file.

```
news/
  business/001.txt  business/002.txt ...
  sport/001.txt ...
```

The sorted sub-folder names are the classes. Documents stay raw strings; the model's own
TextVectorization layer (adapted on the training split only, with data.text's options) turns
them into tokens, so an exported model takes raw strings too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlflow.config.schema import TextOptions
from dlflow.data.dataset import Dataset, InputSpec
from dlflow.data.folders import class_files, target_name
from dlflow.data.no_target import wants_no_target
from dlflow.data.progress import EVERY, report
from dlflow.data.tasks import encode_target
from dlflow.errors import DataError

WORD = re.compile(r"\w+")  # a word, as TextVectorization sees one (punctuation stripped)

TEXT_SUFFIXES = (".txt",)
ADAPT_BATCH = 256  # documents per batch when TextVectorization adapts on the training files


@dataclass
class TextFiles:
    """Text files standing for an object array (samples, 1) of documents, read only when asked.

    Indexing with sample indices gives the subset of files (the split picks files); `np.asarray`
    reads them all (bounded samples only: shallow baselines, the starter's word counts); training
    and TextVectorization's adapt read them through `tf_texts`, a tf.data stream.
    """

    root: Path
    relpaths: np.ndarray
    digests: np.ndarray

    dtype = np.dtype(object)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.relpaths), 1)

    @property
    def ndim(self) -> int:
        return 2

    def __len__(self) -> int:
        return len(self.relpaths)

    def __getitem__(self, index: Any) -> "TextFiles":
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return replace(self, relpaths=self.relpaths[index], digests=self.digests[index])

    def paths(self) -> list[str]:
        return [str(self.root / rel) for rel in self.relpaths]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        texts = np.empty(self.shape, dtype=object)
        for i, path in enumerate(self.paths()):
            texts[i, 0] = read_text(Path(path))
        return texts if dtype is None else texts.astype(dtype)

    def fingerprint_into(self, digest: Any) -> None:
        """Feed the relative paths and content digests to a hashlib digest (the data's fingerprint)."""
        digest.update(b"texts")
        for rel, content in zip(self.relpaths, self.digests):
            digest.update(str(rel).encode("utf-8", "surrogatepass") + b"\0" + int(content).to_bytes(8, "little"))

    def tf_texts(self) -> Any:
        """A tf.data stream of (1,) string tensors, one per file, in order (for adapting on)."""
        import tensorflow as tf

        return tf.data.Dataset.range(len(self)).map(
            self.reader(), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )

    def reader(self) -> Any:
        """A tf function: sample index -> its document, a (1,) string tensor (a leading BOM dropped)."""
        import tensorflow as tf

        paths = tf.constant(np.asarray(self.paths(), dtype=str)) if len(self) else tf.zeros([0], tf.string)

        def read(i: Any) -> Any:
            raw = tf.io.read_file(tf.gather(paths, i))
            bom = tf.equal(tf.strings.substr(raw, 0, 3), tf.constant(b"\xef\xbb\xbf"))  # as read_text does
            return tf.reshape(tf.where(bom, tf.strings.substr(raw, 3, tf.strings.length(raw) - 3), raw), (1,))

        return read


def load_text_dir(data: Any, task: str | None) -> Dataset:
    """Load `data.source`, a folder with one sub-folder of .txt files per class.

    Args:
        data: the config's DataConfig (`data.target` names the target, default "label").
        task: the config's task; inferred when None (two classes: binary, more: multiclass).

    Returns:
        A Dataset of kind "text" with one input "text" of shape (1,) (raw strings; a `TextFiles`
        read while training) and one target named after `data.target`.
    """
    folder = Path(data.source)
    files, labels = class_files(folder, TEXT_SUFFIXES, what="text files", labeled=not wants_no_target(data))
    limit = data.text.max_file_bytes if data.text is not None else TextOptions().max_file_bytes
    words, digests = np.empty(len(files), dtype=np.int64), np.empty(len(files), dtype=np.uint64)
    report("text files read", 0, len(files))
    for i, file in enumerate(files):  # every file read once (UTF-8 checked), then let go
        if (i + 1) % EVERY == 0 or i + 1 == len(files):
            report("text files read", i + 1, len(files))
        raw = read_text(file, max_bytes=limit)
        words[i] = len(WORD.findall(raw))
        digests[i] = int.from_bytes(
            hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
        )
    if not words.any():
        raise DataError(
            f"{folder}: the text files hold no words (all empty or punctuation): TextVectorization "
            f"has no vocabulary to learn",
            config_path=("data", "source"),
        )
    texts = TextFiles(folder, np.asarray([str(f.relative_to(folder)) for f in files], dtype=object), digests)
    if wants_no_target(data):  # no target (see dlflow.data.no_target)
        encoded, spec = None, None
    else:
        encoded, spec = encode_target(
            np.asarray(labels, dtype=object), target_name(data.target), task, source=str(folder)
        )
    info = {
        "classes": sorted(set(labels)),
        "files": len(files),
        "per_class": {c: labels.count(c) for c in sorted(set(labels))},
        "words_per_document": {"median": float(np.median(words)), "max": int(words.max())},
        "files_keyed": "relative path + content digest",
    }
    return Dataset(
        kind="text",
        inputs={"text": texts},
        targets={spec.name: encoded} if spec else {},
        input_specs={"text": InputSpec("text", (1,), "string", "text")},
        target_specs={spec.name: spec} if spec else {},
        source=str(folder),
        info=info,
    )


def text_tf_dataset(
    files: TextFiles, targets: Any, *, batch_size: int, shuffle: bool, seed: int, drop_remainder: bool = False
) -> Any:
    """A tf.data pipeline of (documents, targets) batches read from the files (reshuffled each epoch)."""
    import tensorflow as tf

    order = tf.data.Dataset.range(len(files))
    if shuffle:
        order = order.shuffle(max(len(files), 1), seed=seed, reshuffle_each_iteration=True)
    target_t = tf.nest.map_structure(tf.convert_to_tensor, targets)
    read = files.reader()
    data = order.map(
        lambda i: (read(i), tf.nest.map_structure(lambda t: tf.gather(t, i), target_t)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return data.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def read_text(path: Path, max_bytes: int | None = None) -> str:
    """A UTF-8 text file's contents (a leading byte-order mark is dropped).

    Raises:
        DataError: the file cannot be read, is larger than `max_bytes` or is not UTF-8, naming
            the file (and the byte offset).
    """
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise DataError(
                f"{path}: {size:,} bytes, more than data.text.max_file_bytes ({max_bytes:,}); "
                f"split the document or raise the limit",
                config_path=("data", "text", "max_file_bytes"),
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})", config_path=("data", "source")) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.start}: 0x{raw[exc.start]:02x}); re-save it as UTF-8",
            config_path=("data", "source"),
        ) from exc
    return text.removeprefix("\ufeff")
