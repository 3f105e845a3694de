"""Train fuzzer: generated configs through `validate`, `validate --build` and `train --set fit.epochs=1`, in-process.

    python -m tests.fuzz.train_fuzz --examples 60     # prints one JSON line of counts

Each example takes one of the small builtin-data configs (digits MLP, wine, breast cancer,
diabetes) and changes what only training exercises: layers and their arguments, the loss, the
metrics, loss_weights, the optimizer, the callbacks, fit.monitor, the batch size, class weights,
the task. Then it checks:

- no traceback and no hang in any of the three commands; every refusal exit 2 with a location;
- agreement: `validate --build` refuses exactly when `train` refuses for a config reason, with the
  same error line; what plain `validate` refuses, `train` refuses with the same line;
- an accepted training is "right" unless it shows it was not what the config said: a Keras
  warning (a monitor it never logs, a mode it ignores) or a monitor never scored.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import Counts, fuzz_main, generated_only, run_dlflow

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SEEDS = {
    name: yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    for name in ("digits_mlp", "wine", "breast_cancer", "diabetes")
}
SEEDS["digits_mlp"]["model"]["sequential"][1]["Dense"]["units"] = 16  # small and quick
SEEDS["digits_mlp"]["model"]["sequential"][3]["Dense"]["units"] = 8

LAYERS = st.sampled_from(
    [
        {"Conv2D": {"filters": 2, "kernel_size": 3}},
        {"Reshape": {"target_shape": [7]}},
        {"LSTM": {"units": 2}},
        {"Embedding": {"input_dim": 10, "output_dim": 2}},
        "BatchNormalization",
        "MaxPooling2D",
        "Flatten",
        "GlobalAveragePooling1D",
        {"Dense": {"units": 3}},
        {"Dropout": {"rate": 1.5}},
        {"Dropout": {"rate": 0.5}},
        {"Activation": {"activation": "relu"}},
        "Softmax",
        "LayerNormalization",
        "Layer",
        {"Dense": {"units": 0}},
        {"Dense": {"units": 4, "name": "label"}},
        {"Dense": {"units": 4, "dtype": "int32"}},
        {"RepeatVector": {"n": 2}},
        {"Dense": {"units": 4, "kernel_regularizer": {"L2": {"l2": -1}}}},
        {"Dense": {"units": 4, "activation": "nope"}},
        {"Dense": {"units": 4, "kernel_initializer": {"RandomNormal": {"stddev": -1}}}},
        {"Permute": {"dims": [2, 1]}},
    ]
)
LAYER_ARGS = st.sampled_from(
    [
        ("units", 0),
        ("units", 1),
        ("units", 2),
        ("units", 10),
        ("units", 2.5),
        ("units", [3]),
        ("activation", "softmax"),
        ("activation", "sigmoid"),
        ("activation", "linear"),
        ("activation", {"LeakyReLU": {}}),
        ("name", "label"),
        ("name", "x"),
        ("dtype", "float16"),
        ("dtype", "x"),
        ("use_bias", "x"),
        ("kernel_initializer", "zeros"),
        ("kernel_regularizer", {"L2": {"l2": "x"}}),
        ("kernel_constraint", {"MaxNorm": {"max_value": -1}}),
        ("rate", 1.0),
        ("rate", -0.1),
        ("trainable", False),
        ("bias_initializer", {"Constant": {"value": [1, 2]}}),
    ]
)
LOSSES = st.sampled_from(
    [
        "mse",
        "mae",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "huber",
        {"Huber": {"delta": -1}},
        {"CategoricalFocalCrossentropy": {}},
        "kl_divergence",
        "poisson",
        "hinge",
        {"Loss": {}},
        {"SparseCategoricalCrossentropy": {"from_logits": True}},
        {"BinaryCrossentropy": {"axis": 5}},
        {"label": "mse"},
        {"nope": "mse"},
    ]
)
METRICS = st.sampled_from(
    [
        ["accuracy"],
        ["auc"],
        [{"AUC": {}}],
        [{"Precision": {}}],
        ["f1_score"],
        [{"F1Score": {}}],
        ["mae"],
        [{"MeanIoU": {"num_classes": 3}}],
        [{"TopKCategoricalAccuracy": {"k": 5}}],
        [{"SparseTopKCategoricalAccuracy": {"k": 20}}],
        [{"Metric": {}}],
        ["r2_score"],
        ["binary_accuracy"],
        ["categorical_accuracy"],
        [],
        {"label": ["mae"]},
    ]
)
OPTIMIZERS = st.sampled_from(
    [
        "sgd",
        {"SGD": {"momentum": 2}},
        {"Adam": {"learning_rate": -1}},
        {"Adam": {"amsgrad": "yes"}},
        {
            "Adam": {
                "learning_rate": {
                    "ExponentialDecay": {"initial_learning_rate": 0.01, "decay_steps": 0, "decay_rate": 0.9}
                }
            }
        },
        {"Adam": {"clipnorm": -1}},
        {"AdamW": {"weight_decay": "x"}},
        "lion",
        {"Adafactor": {}},
        {"Optimizer": {"learning_rate": 0.1}},
        {"Adam": {"global_clipnorm": 1, "clipnorm": 1}},
        {"LossScaleOptimizer": {"inner_optimizer": "adam"}},
        {"Adam": {"beta_1": 1.5}},
        {"RMSprop": {"rho": [1]}},
        {"Adam": {"learning_rate": 1e9}},
        {"Adam": {"epsilon": 0}},
    ]
)
CALLBACKS = st.sampled_from(
    [
        {"EarlyStopping": {"patience": [1, 2]}},
        {"EarlyStopping": {"patience": -1}},
        {"EarlyStopping": {"monitor": ""}},
        {"EarlyStopping": {"monitor": "val_nope"}},
        {"EarlyStopping": {"monitor": "accuracy"}},
        {"EarlyStopping": {"monitor": -3}},
        {"EarlyStopping": {"monitor": None}},
        {"EarlyStopping": {"mode": "x"}},
        {"EarlyStopping": {"baseline": "x"}},
        {"EarlyStopping": {"min_delta": "a"}},
        {"EarlyStopping": {"restore_best_weights": True, "patience": 0}},
        {"ReduceLROnPlateau": {"factor": 2}},
        {"ReduceLROnPlateau": {"min_lr": -1}},
        {"ReduceLROnPlateau": {"monitor": None}},
        {"ReduceLROnPlateau": {}},
        "TerminateOnNaN",
        {"ModelCheckpoint": {"filepath": "m.keras"}},
        {"ModelCheckpoint": {"filepath": "m.h5"}},
        {"ModelCheckpoint": {"filepath": "w.weights.h5", "save_weights_only": True}},
        {"CSVLogger": {"filename": "x.csv", "separator": 3}},
        {"TensorBoard": {"histogram_freq": 1}},
        {"TensorBoard": {"log_dir": "tb", "update_freq": "x"}},
        {"BackupAndRestore": {"backup_dir": "b", "save_freq": "x"}},
        "SwapEMAWeights",
        "ProgbarLogger",
        "History",
        "Callback",
    ]
)
SETTINGS = st.sampled_from(
    [
        (("fit", "monitor"), "val_accuracy"),
        (("fit", "monitor"), "accuracy"),
        (("fit", "monitor"), "val_nope"),
        (("fit", "monitor"), "loss"),
        (("fit", "monitor"), "val_auc"),
        (("fit", "batch_size"), 1),
        (("fit", "batch_size"), 3),
        (("fit", "batch_size"), 10**6),
        (("fit", "class_weight"), "balanced"),
        (("fit", "class_weight"), {"0": 2}),
        (("fit", "class_weight"), {"nope": 1}),
        (("data", "split", "validation"), 0),
        (("data", "split", "validation"), 0.9),
        (("runtime", "jit_compile"), True),
        (("runtime", "deterministic"), True),
        (("task",), "binary"),
        (("task",), "regression"),
        (("task",), "multilabel"),
        (("compile", "loss_weights"), [1]),
        (("compile", "loss_weights"), [1, 2]),
        (("compile", "loss_weights"), {"label": 2}),
        (("seed",), 0),
    ]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.sampled_from([0, -1, 1, 2, 3, 0.5, 1e12, "", "x", "relu", [1, 2]]))
KERAS_WARNINGS = re.compile(
    r"which is not available|is unknown, fallback|not available\. Available|"
    r"UserWarning|Can save best model only with"
)


def _layers(tree: dict) -> list:
    return tree.get("model", {}).get("sequential") or []


@st.composite
def configs(draw) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    tree = copy.deepcopy(SEEDS[name])
    tree["name"] = f"fuzz-{name}"
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(
            st.sampled_from(
                ["layer_arg", "insert", "loss", "metrics", "optimizer", "callback", "setting", "setting", "scalar"]
            )
        )
        layers = _layers(tree)
        if kind == "layer_arg" and layers:
            i = draw(st.integers(0, len(layers) - 1))
            if isinstance(layers[i], dict):
                arg, value = draw(LAYER_ARGS)
                kwargs = next(iter(layers[i].values())) or {}
                layers[i] = {next(iter(layers[i])): {**kwargs, arg: value}}
        elif kind == "insert" and layers:
            layers.insert(draw(st.integers(0, len(layers))), draw(LAYERS))
        elif kind == "loss":
            tree.setdefault("compile", {})["loss"] = draw(LOSSES)
        elif kind == "metrics":
            tree.setdefault("compile", {})["metrics"] = draw(METRICS)
        elif kind == "optimizer":
            tree.setdefault("compile", {})["optimizer"] = draw(OPTIMIZERS)
        elif kind == "callback":
            tree.setdefault("fit", {})["callbacks"] = [draw(CALLBACKS)]
        elif kind == "setting":
            path, value = draw(SETTINGS)
            node = tree
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
        elif kind == "scalar" and layers and isinstance(layers[-1], dict):
            kwargs = next(iter(layers[-1].values())) or {}
            if kwargs:
                arg = draw(st.sampled_from(sorted(kwargs)))
                layers[-1] = {next(iter(layers[-1])): {**kwargs, arg: draw(SCALARS)}}
    tree.setdefault("fit", {})["verbose"] = 0
    return yaml.safe_dump(tree, sort_keys=False), tree


def _error(text: str) -> str:
    """The first error line, with Keras's automatic layer-name numbers left out (`dense_3` -> `dense`):
    they count up within one process, where the fuzzer runs every command."""
    line = next((line for line in text.splitlines() if line.startswith("error:")), "")
    return re.sub(r"(?<=[a-z0-9])(_\d+)+\b", "", line)


class TrainCounts:
    """Counts per command, with train's accepted outcomes split into right and wrong, and disagreements."""

    def __init__(self):
        self.validate, self.build, self.train = Counts(), Counts(), Counts()
        self.right = self.wrong = self.disagree = self.deferred = 0
        self.notes: dict[str, list[str]] = {}

    def note(self, kind: str, sample: str) -> None:
        if len(self.notes.setdefault(kind, [])) < 6:
            self.notes[kind].append(sample[:700])

    def summary(self) -> dict[str, Any]:
        out = {
            name: {k: v for k, v in counts.summary().items() if k != "examples"}
            for name, counts in (("validate", self.validate), ("validate_build", self.build), ("train", self.train))
        }
        out["train"].update(accepted_right=self.right, accepted_wrong=self.wrong)
        examples = {
            f"{name}_{kind}": samples
            for name, counts in (("validate", self.validate), ("validate_build", self.build), ("train", self.train))
            for kind, samples in counts.examples.items()
        }
        return {
            "tried": self.train.tried,
            "tracebacks": sum(c.tracebacks for c in (self.validate, self.build, self.train)),
            "hangs": sum(c.hangs for c in (self.validate, self.build, self.train)),
            "unlocated": sum(c.unlocated for c in (self.validate, self.build, self.train)),
            "disagreements": self.disagree,
            "accepted_wrong": self.wrong,
            "deferred_to_build": self.deferred,
            **out,
            "examples": {**examples, **self.notes},
        }


def one_example(text: str, folder: Path, counts: TrainCounts) -> None:
    """validate, validate --build and train on one config; check agreement and classify."""
    config = folder / "fuzz.yaml"
    config.write_text(text)
    runs = folder / "runs"
    label = text[:400]
    outs: list[str] = []
    plain = run_dlflow(["validate", str(config), "--set", "fit.epochs=1"], counts.validate, label=label, out=outs)
    built = run_dlflow(
        ["--runs-dir", str(runs), "validate", str(config), "--build", "--set", "fit.epochs=1"],
        counts.build,
        label=label,
        out=outs,
        timeout=120,
    )
    trained = run_dlflow(
        ["--runs-dir", str(runs), "train", str(config), "--set", "fit.epochs=1"],
        counts.train,
        label=label,
        out=outs,
        timeout=180,
        work_failed=True,
    )
    plain_error, build_error, train_error = (_error(t) for t in outs)
    print(f"{folder.name}: validate {plain}, --build {built}, train {trained} {train_error[:160]}", file=sys.stderr)
    if plain == 2 and (trained != 2 or train_error != plain_error):
        counts.disagree += 1
        counts.note("disagree_validate", f"{label}\nvalidate: {plain_error}\ntrain: exit {trained} {train_error}")
    elif plain == 0 and trained == 2:
        counts.deferred += 1  # found by the build: validate --build must agree
    if (
        built in (0, 2)
        and trained in (0, 1, 2)
        and (built == 2) != (trained == 2)
        or (built == 2 and trained == 2 and build_error != train_error)
    ):
        counts.disagree += 1
        counts.note(
            "disagree_build",
            f"{label}\nvalidate --build: exit {built} {build_error}\ntrain: exit {trained} {train_error}",
        )
    if trained == 0:
        wrong = _accepted_wrong(runs, outs[-1])
        if wrong:
            counts.wrong += 1
            counts.note("accepted_wrong", f"{label}\n{wrong}")
        else:
            counts.right += 1


def _accepted_wrong(runs: Path, stderr: str) -> str | None:
    """Why an accepted training was not what its config said (a Keras warning, a monitor never scored), or None."""
    warned = KERAS_WARNINGS.search(stderr)
    if warned:
        line = next(line for line in stderr.splitlines() if warned.group(0) in line)
        return f"Keras warned: {line.strip()[:300]}"
    found = sorted(runs.glob("*/*/metrics.json"), key=lambda p: p.stat().st_mtime)
    if found and json.loads(found[-1].read_text()).get("best_value") is None:
        return "fit.monitor was never scored"
    return None


def fuzz(examples: int, root: Path) -> TrainCounts:
    counts = TrainCounts()
    seen = [0]

    @generated_only(examples)
    @given(configs())
    def one(drawn: tuple[str, dict]) -> None:
        seen[0] += 1
        folder = root / f"e{seen[0]}"
        folder.mkdir()
        one_example(drawn[0], folder, counts)

    one()
    return counts


def main() -> None:
    fuzz_main(fuzz, examples=60, memory_gib=24.0)


if __name__ == "__main__":
    main()
