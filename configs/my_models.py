"""Model factories for `model.factory` configs: your own Python builds the model.

`build` returns a model body: dlflow calls `build(**model.args, outputs=...)` and wraps what it
returns between the data's raw inputs (with preprocessing) and the named outputs.

`build_gan` returns a model with its own `compile` and `train_step` (a GAN): dlflow fits it as it
is, on raw `(x, y)` batches; it asks for `preprocess` (raw inputs -> features) and compiles itself
with settings from `model.args` (see configs/digits_gan.yaml).
"""

import keras
from keras import ops


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


@keras.saving.register_keras_serializable(package="my_models")
class GAN(keras.Model):
    """keras-io's GAN example in small: dense generator and discriminator over flattened images,
    its own compile (two optimizers), metrics and train_step, so dlflow fits it as it is.
    `preprocess` (offered by dlflow) turns the raw pixels into the model's features."""

    def __init__(self, latent_dim=8, pixels=64, preprocess=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.pixels, self.preprocess = latent_dim, pixels, preprocess
        self.generator = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(32, activation="relu"),
                                           keras.layers.Dense(pixels, activation="sigmoid")], name="generator")
        self.discriminator = keras.Sequential([keras.Input((pixels,)), keras.layers.Dense(32, activation="relu"),
                                               keras.layers.Dense(1)], name="discriminator")
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def train_step(self, data):
        import tensorflow as tf

        x, _ = data  # (x, y) batches, as fit gives them
        real = ops.reshape(self.preprocess(x, training=True), (-1, self.pixels))
        batch = ops.shape(real)[0]
        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        images = ops.concatenate([self.generator(noise), real], axis=0)
        labels = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, 1))], axis=0)
        with tf.GradientTape() as tape:
            d_loss = self.loss_fn(labels, self.discriminator(images))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(ops.zeros((batch, 1)), self.discriminator(self.generator(noise)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "pixels": self.pixels,
                "preprocess": keras.saving.serialize_keras_object(self.preprocess)}

    @classmethod
    def from_config(cls, config):
        preprocess = keras.saving.deserialize_keras_object(config.pop("preprocess"))
        return cls(preprocess=preprocess, **config)


def build_gan(latent_dim=8, learning_rate=1e-3, input_shape=None, preprocess=None):
    """The factory: compiles the GAN with its two optimizers, as Keras's GAN example does."""
    pixels = 1
    for size in input_shape:
        pixels *= size
    gan = GAN(latent_dim=latent_dim, pixels=pixels, preprocess=preprocess)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate), g_optimizer=keras.optimizers.Adam(learning_rate),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan
