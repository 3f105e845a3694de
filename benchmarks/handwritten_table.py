"""The hand-written Keras baseline for the table MLP in benchmarks/spine.py: what a Keras user would
write by hand for configs/breast_cancer.yaml (same data, split sizes, model, optimizer, epochs and
batch size; inputs normalized inside the model; no checkpoints, no early stopping).

Prints one JSON line: {"fit_s": ..., "val_accuracy": ...}.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="handwritten_table.keras")
    args = parser.parse_args()

    keras.utils.set_random_seed(1337)
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype("float32")
    x_rest, _, y_rest, _ = train_test_split(x, y, test_size=0.15, stratify=y, random_state=1337)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.15 / 0.85, stratify=y_rest, random_state=1338
    )
    normalize = keras.layers.Normalization()
    normalize.adapt(x_train)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            normalize,
            keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3)),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")]
    )
    started = time.perf_counter()
    history = model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs, batch_size=args.batch_size, verbose=2
    )
    fit_s = time.perf_counter() - started
    model.save(args.out)
    print(json.dumps({"fit_s": fit_s, "val_accuracy": history.history["val_accuracy"][-1]}))


if __name__ == "__main__":
    main()
