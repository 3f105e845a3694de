"""A tiny GAN in the style of keras-io's DCGAN example: its own compile, metrics and train_step."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tiny_gan")
class GAN(keras.Model):
    """Dense generator and discriminator over flattened images; `preprocess` scales the raw pixels."""

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


def build(latent_dim=8, learning_rate=1e-3, input_shape=None, preprocess=None):
    """The factory: compiles the GAN with its two optimizers, as Keras's GAN example does."""
    pixels = 1
    for size in input_shape:
        pixels *= size
    gan = GAN(latent_dim=latent_dim, pixels=pixels, preprocess=preprocess)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate), g_optimizer=keras.optimizers.Adam(learning_rate),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan
