"""Starter models for `dlflow define`: a model suited to the data, as commented config lines.

An MLP for tables and flat arrays, a small convnet for images (its depth follows the image
size), a bag-of-bigrams or an embedding + Conv1D model for text (Chollet's samples-to-words
rule picks), Conv1D + LSTM for time series windows, and a functional graph when the data has
several targets or inputs a Sequential stack cannot join. Imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from dlflow.data.dataset import Dataset, TargetSpec

COMMENT_COLUMN = 30  # comments start here, as in configs/*.yaml
BAG_OF_WORDS_RATIO = 1500  # samples / words per document below this: a bag of bigrams wins (Chollet)
MAX_TOKENS = 20000
TABLE_TEXT_TOKENS = 2000
MIN_CONV_SIDE = 8  # stop pooling an image below this many pixels on its short side
MAX_CONV_BLOCKS = 4
STARTER_SAMPLE = 5000  # documents whose words are counted (a seeded sample of a larger text data set)


@dataclass
class Starter:
    """A starter model and the settings that go with it.

    Args:
        description: one line naming the model, for the summary.
        model: the `model:` section's lines (indented, commented).
        data: extra `data:` lines the model needs (image, text or window options).
        epochs: an upper bound on epochs (EarlyStopping ends sooner).
        patience: EarlyStopping's patience.
    """

    description: str
    model: list[str]
    data: list[str] = field(default_factory=list)
    epochs: int = 100
    patience: int = 10


def flow(value: Any) -> str:
    """A value as inline YAML: `{Dense: {units: 1}}`, `[28, 28]`, `builtin:digits`, `'yes'`."""
    if (
        isinstance(value, str)
        and value
        and value.strip() == value
        and yaml.safe_load(value) == value
        and not any(c in value for c in "#,[]{}&*!|>'\"%@`")
    ):
        return value  # plain: no quotes needed
    return yaml.safe_dump([value], default_flow_style=True, width=10**9, sort_keys=False).strip()[1:-1]


def item(spec: Any) -> str:
    """A list item the way configs write layers: `- Dense: {units: 64}` or `- Flatten`."""
    if isinstance(spec, dict) and len(spec) == 1:
        ((name, kwargs),) = spec.items()
        return f"- {name}: {flow(kwargs)}" if kwargs else f"- {name}"
    return f"- {flow(spec)}"


def line(indent: int, text: str, comment: str | None = None) -> str:
    """One YAML line, its comment aligned at COMMENT_COLUMN (or one space after a long line)."""
    out = " " * indent + text
    if comment:
        out = (
            f"{out.ljust(COMMENT_COLUMN - 1)} # {comment}" if len(out) < COMMENT_COLUMN - 1 else f"{out}   # {comment}"
        )
    return out


def output_layer(spec: TargetSpec) -> dict[str, Any]:
    """The last layer a target needs: units and activation from its task."""
    activation = {"binary": "sigmoid", "multiclass": "softmax", "multilabel": "sigmoid"}.get(spec.task)
    kwargs: dict[str, Any] = {"units": spec.units}
    if activation:
        kwargs["activation"] = activation
    return {"Dense": kwargs}


def output_comment(spec: TargetSpec) -> str:
    """Why the last layer looks as it does."""
    return {
        "binary": "binary: one unit, sigmoid",
        "multiclass": f"one unit per class ({spec.units}), softmax",
        "multilabel": f"one sigmoid unit per label ({spec.units})",
        "regression": "linear units, one per value; dlflow learns the target standardized and "
        "answers in its units (data.target_scaling)",
    }[spec.task]


def loss_for(task: str) -> str:
    """The loss for a task (integer labels for multiclass)."""
    return {
        "binary": "binary_crossentropy",
        "multiclass": "sparse_categorical_crossentropy",
        "multilabel": "binary_crossentropy",
        "regression": "mse",
    }[task]


def metrics_for(task: str) -> list[Any]:
    """The metrics to watch: the baselines' metric first."""
    return {
        "binary": ["accuracy", {"AUC": {"name": "auc"}}],
        "multiclass": ["accuracy"],
        "multilabel": ["binary_accuracy"],
        "regression": ["mae"],
    }[task]


def starter_model(dataset: Dataset, train: Dataset | None = None) -> Starter:
    """The starter model for a data set, by its kind and the shape of its inputs and targets.

    Args:
        dataset: the whole data set.
        train: its training split (unused by the heads: regression targets are standardized by
            dlflow itself, see data.target_scaling).
    """
    specs = list(dataset.input_specs.values())
    several_targets = len(dataset.target_specs) > 1
    unjoinable = sum(1 for s in specs if len(s.shape) > 1) > 1 or (
        len(specs) > 1 and any(len(s.shape) > 1 for s in specs)
    )
    if several_targets or (dataset.kind != "tabular" and unjoinable):
        return _functional(dataset, train)
    target = next(iter(dataset.target_specs.values()))
    if dataset.kind == "text" or (len(specs) == 1 and specs[0].role == "text" and dataset.kind != "tabular"):
        return _text(dataset, target, train)
    if dataset.kind == "timeseries":
        return _timeseries(dataset, target, train)
    if len(specs) == 1 and len(specs[0].shape) == 3:
        return _convnet(specs[0].shape, target, train)
    return _mlp(dataset, target, train)


def _mlp(dataset: Dataset, target: TargetSpec, train: Dataset | None) -> Starter:
    tabular = dataset.kind == "tabular"
    flat = all(len(s.shape) <= 1 for s in dataset.input_specs.values())
    model = ["model:"]
    if tabular:
        model += [
            "  # Each column is a named input, preprocessed inside the model: numeric columns normalized,",
            "  # categorical ones one-hot (an embedding past 64 values), with training-split statistics only.",
        ]
    model += [
        "  # A multilayer perceptron: big enough to overfit (the capacity check of `dlflow develop`),",
        "  # small enough to train in seconds. EarlyStopping below keeps the best epoch.",
        "  sequential:",
    ]
    if not flat:
        model.append(line(4, "- Flatten", "one vector per sample"))
    model += [
        line(4, item({"Dense": {"units": 64, "activation": "relu"}})),
        line(4, item({"Dense": {"units": 32, "activation": "relu"}})),
        line(4, item({"Dropout": {"rate": 0.2}}), "regularization: raise it if validation loss turns up early"),
        *head_lines(target, train),
    ]
    data = []
    if tabular and any(s.role == "text" for s in dataset.input_specs.values()):
        data = [
            line(
                2,
                "text: " + flow({"max_tokens": TABLE_TEXT_TOKENS, "output_mode": "multi_hot"}),
                "text columns as bags of words, joined with the others",
            )
        ]
    return Starter(f"MLP: Dense 64 -> Dense 32 -> Dropout 0.2 -> {_head(target)}", model, data, epochs=100, patience=10)


def _convnet(shape: tuple[int, ...], target: TargetSpec, train: Dataset | None) -> Starter:
    height, width, _ = shape
    side, blocks, filters = min(height, width), [], 32
    while (side >= 2 * MIN_CONV_SIDE or (not blocks and side >= MIN_CONV_SIDE)) and len(blocks) < MAX_CONV_BLOCKS:
        blocks.append(filters)
        side, filters = side // 2, min(filters * 2, 256)
    model = [
        "model:",
        "  # The input and its preprocessing come from the data: raw pixels, rescaled to 0-1 inside the",
        "  # model, so the exported model takes raw pixels. A small convnet: each block doubles the",
        "  # filters and halves the image, then global pooling gives one value per filter.",
        "  sequential:",
    ]
    h, w = height, width
    for f in blocks:
        model.append(
            line(4, item({"Conv2D": {"filters": f, "kernel_size": 3, "padding": "same", "activation": "relu"}}))
        )
        model.append(line(4, "- MaxPooling2D", f"{h}x{w} -> {h // 2}x{w // 2}"))
        h, w = h // 2, w // 2
    model += [
        line(4, item({"Conv2D": {"filters": filters, "kernel_size": 3, "padding": "same", "activation": "relu"}})),
        line(4, "- GlobalAveragePooling2D", "one value per filter"),
        line(4, item({"Dropout": {"rate": 0.3}}), "regularization"),
        *head_lines(target, train),
    ]
    blurb = " -> ".join(
        [f"Conv2D {f} + MaxPooling" for f in blocks]
        + [f"Conv2D {filters}", "GlobalAveragePooling", "Dropout 0.3", _head(target)]
    )
    return Starter(f"convnet: {blurb}", model, epochs=40, patience=8)


def _text(dataset: Dataset, target: TargetSpec, train: Dataset | None) -> Starter:
    import numpy as np

    texts = next(iter(dataset.inputs.values()))
    documents = len(texts)
    if documents > STARTER_SAMPLE:  # documents are counted on a seeded sample (a text folder reads files)
        texts = texts[np.sort(np.random.default_rng(0).choice(len(texts), STARTER_SAMPLE, replace=False))]
    texts = np.asarray(texts).reshape(-1)
    words = np.array([len(str(t).split()) for t in texts]) if len(texts) else np.array([1])
    median = max(1.0, float(np.median(words)))
    ratio = documents / median
    if ratio < BAG_OF_WORDS_RATIO:
        data = [
            line(
                2,
                "text: " + flow({"max_tokens": MAX_TOKENS, "output_mode": "multi_hot", "ngrams": 2}),
                "bag of words and bigrams",
            ),
            f"  # {documents} documents of about {median:.0f} words: a ratio of {ratio:.0f} (< {BAG_OF_WORDS_RATIO}),",
            "  # where a bag of bigrams beats sequence models (Chollet, Deep Learning with Python, 11.3).",
        ]
        model = [
            "model:",
            "  # Raw strings in; TextVectorization (adapted on the training split) makes a multi-hot vector.",
            "  sequential:",
            line(4, item({"Dense": {"units": 16, "activation": "relu"}})),
            line(4, item({"Dropout": {"rate": 0.5}}), "bags of words overfit fast"),
            *head_lines(target, train),
        ]
        return Starter(
            f"bag of bigrams: Dense 16 -> Dropout 0.5 -> {_head(target)}", model, data, epochs=30, patience=4
        )
    length = int(min(600, max(16, np.percentile(words, 90))))
    data = [
        line(
            2,
            "text: " + flow({"max_tokens": MAX_TOKENS, "sequence_length": length}),
            "token ids, padded or cut to 90% of documents' length",
        ),
        f"  # {documents} documents of about {median:.0f} words: a ratio of {ratio:.0f} (>= {BAG_OF_WORDS_RATIO}),",
        "  # enough data for a sequence model to beat a bag of words (Chollet, Deep Learning with Python, 11.3).",
    ]
    model = [
        "model:",
        "  # Raw strings in; TextVectorization (adapted on the training split) makes token ids.",
        "  sequential:",
        line(4, item({"Embedding": {"input_dim": MAX_TOKENS, "output_dim": 64}}), "input_dim = data.text.max_tokens"),
        line(4, item({"Conv1D": {"filters": 64, "kernel_size": 5, "activation": "relu"}})),
        line(4, "- GlobalMaxPooling1D"),
        line(4, item({"Dropout": {"rate": 0.3}}), "regularization"),
        *head_lines(target, train),
    ]
    return Starter(
        f"Embedding 64 -> Conv1D 64 -> GlobalMaxPooling -> Dropout 0.3 -> {_head(target)}",
        model,
        data,
        epochs=20,
        patience=3,
    )


def _timeseries(dataset: Dataset, target: TargetSpec, train: Dataset | None) -> Starter:
    model = [
        "model:",
        "  # Each sample is a window of past steps (data.window); Conv1D finds local patterns",
        "  # cheaply, the LSTM reads their order, a linear layer forecasts.",
        "  sequential:",
        line(4, item({"Conv1D": {"filters": 32, "kernel_size": 5, "padding": "same", "activation": "relu"}})),
        line(4, item({"MaxPooling1D": {"pool_size": 2}}), "half as many steps for the LSTM"),
        line(4, item({"LSTM": {"units": 32}})),
        *head_lines(target, train),
    ]
    return Starter(f"Conv1D 32 -> MaxPooling1D -> LSTM 32 -> {_head(target)}", model, epochs=40, patience=6)


def _functional(dataset: Dataset, train: Dataset | None) -> Starter:
    specs = list(dataset.input_specs.values())
    nodes: list[tuple[str, dict[str, Any]]] = []
    joined_from = []
    for spec in specs:
        if len(spec.shape) > 1:
            nodes.append((f"{spec.name}_flat", {"Flatten": {}, "inputs": spec.name}))
            joined_from.append(f"{spec.name}_flat")
        else:
            joined_from.append(spec.name)
    last = joined_from[0]
    if len(joined_from) > 1:
        nodes.append(("joined", {"Concatenate": {}, "inputs": joined_from}))
        last = "joined"
    nodes += [
        ("hidden", {"Dense": {"units": 64, "activation": "relu"}, "inputs": last}),
        ("dropped", {"Dropout": {"rate": 0.2}, "inputs": "hidden"}),
    ]
    for name, target in dataset.target_specs.items():
        nodes.append((name, {**output_layer(target), "inputs": "dropped"}))
    width = max(len(n) for n, _ in nodes) + 1
    model = [
        "model:",
        "  # A functional graph: each input flattened, joined, one shared hidden layer, one head per",
        "  # target (output nodes carry the targets' names; losses and metrics follow each task).",
        "  functional:",
        line(4, "inputs: " + flow([s.name for s in specs]), "the data's inputs; shapes come from the data"),
        "    layers:",
    ]
    model += [f"      {(name + ':').ljust(width)} {flow(node)}" for name, node in nodes]
    model.append(line(4, "outputs: " + flow(list(dataset.target_specs))))
    return Starter(
        f"functional: inputs joined -> Dense 64 -> Dropout 0.2 -> {len(dataset.target_specs)} heads",
        model,
        epochs=60,
        patience=8,
    )


def head_lines(target: TargetSpec, train: Dataset | None, indent: int = 4) -> list[str]:
    """The output layer's line (a regression target is standardized by dlflow: data.target_scaling)."""
    return [line(indent, item(output_layer(target)), output_comment(target))]


def _head(target: TargetSpec) -> str:
    activation = output_layer(target)["Dense"].get("activation")
    return f"Dense {target.units}" + (f" ({activation})" if activation else "")
