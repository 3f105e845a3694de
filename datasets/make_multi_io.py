"""Make datasets/digits_multi_io.npz from scikit-learn's bundled digits (no download).

Two inputs and two targets, for the functional-API example (configs/multi_io.yaml):
  image   (n, 8, 8, 1) float32 pixels scaled to 0-1
  profile (n, 16)      float32 ink per row and per column (0-1)
  digit   (n,)         int64 class 0-9          -> a softmax head
  even    (n,)         int64 1 if the digit is even -> a sigmoid head

Run: python datasets/make_multi_io.py
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits


def main() -> None:
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")
    profile = np.concatenate([images.mean(axis=2), images.mean(axis=1)], axis=1).astype("float32")
    out = Path(__file__).with_name("digits_multi_io.npz")
    np.savez_compressed(out, image=images[..., None], profile=profile,
                        digit=digits.target.astype("int64"), even=(digits.target % 2 == 0).astype("int64"))
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(images)} samples)")


if __name__ == "__main__":
    main()
