"""A subclassed classifier whose own train_step raises: dlflow must run it (and fail), not wrap it."""

import keras


class RaisingStep(keras.Model):
    def __init__(self, classes=10, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.head = keras.layers.Dense(classes, activation="softmax")

    def call(self, inputs):
        return self.head(self.flatten(inputs))

    def train_step(self, data):
        raise RuntimeError("RaisingStep.train_step ran and raised on purpose")


def build(outputs=None):
    return RaisingStep(classes=next(iter(outputs.values())))
