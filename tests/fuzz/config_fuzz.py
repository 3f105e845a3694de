"""Config fuzzer: mutated copies of configs/*.yaml through `dlflow validate`, in-process.

    python -m tests.fuzz.config_fuzz --examples 500     # prints one JSON line of counts

Each example takes a shipped config and changes it: a value replaced by something of another type
or an absurd size (huge, negative, NaN, control characters, paths outside the run), a key deleted
or misspelled, or the YAML text itself damaged (truncated, control characters, an alias bomb, deep
nesting). Every outcome must be exit 0 or exit 2 with a located line; never a traceback or a hang.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import Counts, fuzz_main, generated_only, run_dlflow

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SEEDS = [yaml.safe_load(p.read_text()) for p in sorted(CONFIGS.glob("*.yaml"))]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2, 3, 2**31, 2**63, 10**12, 100000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "relu",
            "adam",
            "/etc/passwd",
            "../../x",
            "~/x",
            "Dense",
            "Flatten",
            "LambdaCallback",
            "1e12",
            "val_loss",
            "nan",
            "builtin:digits",
            "builtin:nope",
            "x" * 300,
            "a\x00b",
            "é",
            "*",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
hot = st.sampled_from(
    [
        ("fit", "batch_size"),
        ("fit", "epochs"),
        ("fit", "monitor"),
        ("fit", "callbacks"),
        ("data", "image"),
        ("data", "image", "size"),
        ("data", "text", "max_tokens"),
        ("data", "split", "validation"),
        ("seed",),
        ("name",),
        ("compile", "optimizer"),
        ("compile", "loss"),
        ("compile", "metrics"),
        ("model",),
        ("runtime", "strategy"),
        ("export", "formats"),
        ("data", "target"),
    ]
)
CALLBACKS = st.sampled_from(
    [
        {"BackupAndRestore": {"backup_dir": "/tmp/x"}},
        {"CSVLogger": {"filename": "../../x.csv"}},
        {"TensorBoard": {"log_dir": "tb"}},
        {"RemoteMonitor": {"root": "http://example.com"}},
        {"LambdaCallback": {"on_epoch_end": "print"}},
        {"LearningRateScheduler": {"schedule": "x"}},
        {"EarlyStopping": {"monitor": -3}},
        {"ModelCheckpoint": {"filepath": "m.keras"}},
        "TerminateOnNaN",
    ]
)


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += _paths(value, prefix + (i,))
    return out


def _set(tree: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    value = copy.deepcopy(value)  # drawn values may be shared (sampled_from): never mutate them
    if not path:
        return value
    node = tree
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return tree
        if not isinstance(node, (dict, list)):
            return tree
    last = path[-1]
    if isinstance(node, dict):
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        if delete:
            node.pop(last)
        else:
            node[last] = value
    return tree


@st.composite
def configs(draw) -> str:
    tree = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "replace", "hot", "delete", "misspell", "callback"]))
        paths = _paths(tree)[1:] or [("name",)]
        path = draw(st.sampled_from(paths))
        if kind == "replace":
            tree = _set(tree, path, draw(values))
        elif kind == "hot":
            tree = _set(tree, draw(hot), draw(values))
        elif kind == "delete":
            tree = _set(tree, path, None, delete=True)
        elif kind == "misspell" and isinstance(path[-1], str):
            tree = _set(tree, path[:-1] + (path[-1] + draw(st.sampled_from(["s", "_", "x"])),), draw(values))
        elif kind == "callback":
            tree = _set(tree, ("fit", "callbacks"), [draw(CALLBACKS)])
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True) if isinstance(tree, dict) else repr(tree)
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "control", "bomb", "deep", "tabs"]))
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "control":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\x00", "\x07", "\x1b", "\ufeff", "\x85"])) + text[at:]
    elif damage == "bomb":
        text += "zz: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"z{i}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for i, (p, c) in enumerate(zip("abcdefgh", "bcdefghi"))
        )
    elif damage == "deep":
        depth = draw(st.integers(50, 3000))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    elif damage == "tabs":
        text = text.replace("  ", "\t", 1)
    return text


def fuzz(examples: int, folder: Path) -> Counts:
    counts = Counts()
    config = folder / "fuzz.yaml"

    @generated_only(examples)
    @given(configs())
    def one(text: str) -> None:
        config.write_text(text, encoding="utf-8", errors="surrogatepass")
        run_dlflow(["validate", str(config)], counts, label=text[:300])

    one()
    return counts


def main() -> None:
    fuzz_main(fuzz, examples=500, memory_gib=4.0)


if __name__ == "__main__":
    main()
