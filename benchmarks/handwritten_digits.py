"""The hand-written Keras baseline for benchmarks/spine.py: what a Keras user would write by hand
for configs/digits_convnet.yaml (same data, split sizes, model, optimizer, epochs, batch size).

Prints one JSON line: {"fit_s": ..., "val_accuracy": ...}.
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="handwritten_model.keras")
    parser.add_argument(
        "--checkpoints",
        action="store_true",
        help="Also checkpoint the best model and back up state every epoch, as dlflow always does.",
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(1337)
    digits = load_digits()
    x = digits.images.astype("float32")[..., None]
    y = digits.target
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=270, stratify=y, random_state=1337)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=270, stratify=y_rest, random_state=1338)

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Rescaling(1 / 16),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-4)),
        ]
    )
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = []
    if args.checkpoints:
        callbacks = [
            keras.callbacks.BackupAndRestore("handwritten_backup"),
            keras.callbacks.ModelCheckpoint("handwritten_best.keras", save_best_only=True),
        ]
    started = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=2,
        callbacks=callbacks,
    )
    fit_s = time.perf_counter() - started
    model.save(args.out)
    print(json.dumps({"fit_s": fit_s, "val_accuracy": history.history["val_accuracy"][-1]}))


if __name__ == "__main__":
    main()
