"""The hand-written Keras baseline for benchmarks/table_text.py: what a Keras user would write for a
CSV with a text column and an Embedding model (same rows, split sizes, model, optimizer, epochs,
batch size as the dlflow config there; TextVectorization inside the model, as dlflow puts it).

Prints one JSON line: {"fit_s": ..., "steps": ..., "val_accuracy": ...}.
"""

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pandas as pd  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=20000)
    args = parser.parse_args()

    keras.utils.set_random_seed(1337)
    frame = pd.read_csv(args.csv)
    topics = sorted(frame["topic"].unique())
    x = frame["text"].astype(str).to_numpy()
    y = frame["topic"].map({t: i for i, t in enumerate(topics)}).to_numpy()
    test = round(0.15 * len(x))
    x_rest, _, y_rest, _ = train_test_split(x, y, test_size=test, stratify=y, random_state=1337)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=test, stratify=y_rest, random_state=1338
    )

    vectorize = keras.layers.TextVectorization(
        max_tokens=args.max_tokens, output_mode="int", output_sequence_length=args.sequence_length
    )
    vectorize.adapt(x_train)
    model = keras.Sequential(
        [
            keras.Input((1,), dtype="string"),
            vectorize,
            keras.layers.Embedding(args.max_tokens, 32),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(len(topics), activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    train = tf.data.Dataset.from_tensor_slices((x_train[:, None].astype(str), y_train))
    train = train.shuffle(len(x_train), seed=1337).batch(args.batch_size).prefetch(tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((x_val[:, None].astype(str), y_val)).batch(args.batch_size)
    started = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=args.epochs, verbose=2)
    fit_s = time.perf_counter() - started
    steps = args.epochs * math.ceil(len(x_train) / args.batch_size)
    print(json.dumps({"fit_s": fit_s, "steps": steps, "val_accuracy": history.history["val_accuracy"][-1]}))


if __name__ == "__main__":
    main()
