"""Model factories for `model.factory` configs: your own Python builds the model body.

dlflow calls `build(**model.args, input_shape=..., outputs=...)` and wraps what it returns
between the data's raw inputs (with preprocessing) and the named outputs.
"""

import keras


@keras.saving.register_keras_serializable(package="my_models")
class ResidualMLP(keras.Model):
    """A subclassed model: dense blocks with skip connections, then a softmax head."""

    def __init__(self, width=64, blocks=2, classes=10, **kwargs):
        super().__init__(**kwargs)
        self.width, self.blocks, self.classes = width, blocks, classes
        self.flatten = keras.layers.Flatten()
        self.project = keras.layers.Dense(width, activation="relu")
        self.hidden = [keras.layers.Dense(width, activation="relu") for _ in range(blocks)]
        self.head = keras.layers.Dense(classes, activation="softmax")

    def call(self, inputs):
        x = self.project(self.flatten(inputs))
        for layer in self.hidden:
            x = x + layer(x)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "blocks": self.blocks, "classes": self.classes}


def build(width=64, blocks=2, outputs=None):
    """The factory: `outputs` (target name -> units) sizes the head."""
    classes = next(iter(outputs.values())) if outputs else 10
    return ResidualMLP(width=width, blocks=blocks, classes=classes)
