"""Keras names from column and array names; imports nothing heavy (`dlflow validate` uses it)."""

from __future__ import annotations


def safe_name(name: str, fallback: str = "input") -> str:
    """A Keras name from any column or array name: ASCII letters, digits and underscores only.

    Accented letters are transliterated (`Länge` -> `Lange`); a name with nothing left
    (`长度`) becomes `fallback`. Use `dlflow.data.dataset.input_names` for a table's columns (they stay distinct).
    """
    import re
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", ascii_name).strip("_") or fallback
    return cleaned if not cleaned[0].isdigit() else f"c_{cleaned}"
