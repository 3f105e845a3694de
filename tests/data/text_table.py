"""A table with a text column, built from datasets/bbc_news: one row per sentence, labelled by topic.

`write_sentences(path)` writes the same 13,350 rows every time (files in sorted order, sentences
split the same way): columns `text` (a sentence or a clause of a long one, 4 words or more),
`words` (its word count, a numeric column) and `topic` (the article's folder). Used by the table
text tests and benchmarks/table_text.py.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterator

BBC = Path(__file__).resolve().parents[2] / "datasets" / "bbc_news"
MIN_WORDS = 4


def clauses(line: str) -> Iterator[str]:
    """Sentences of a paragraph; one over 20 words is cut at commas into pieces of 6 words or more."""
    for piece in re.split(r"(?<=[.!?])\s+|[;:]\s+|\s+-\s+", line.strip()):
        if len(piece.split()) <= 20:
            yield piece
            continue
        chunk: list[str] = []
        for part in piece.split(", "):
            chunk.append(part)
            if len(" ".join(chunk).split()) >= 6:
                yield ", ".join(chunk)
                chunk = []
        if chunk:
            yield ", ".join(chunk)


def sentences(limit: int | None = None) -> list[tuple[str, str]]:
    """(text, topic) rows, in a fixed order; every `len // limit`-th row when `limit` is given."""
    rows = []
    for file in sorted(BBC.glob("*/*.txt")):
        for line in file.read_text(encoding="utf-8").splitlines():
            rows += [(text, file.parent.name) for text in clauses(line) if len(text.split()) >= MIN_WORDS]
    if limit is not None and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return rows


def write_sentences(path: Path, limit: int | None = None) -> Path:
    """Write the sentence table (text, words, topic) as CSV; returns `path`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "words", "topic"])
        for text, topic in sentences(limit):
            writer.writerow([text, len(text.split()), topic])
    return path
