"""Generative model factories (configs/digits_dcgan.yaml, configs/digits_vae.yaml): models with their own
`train_step`, fitted as they are by `dlflow train` on data without a target (`data.target: none`), so
each batch is the images alone, as in Keras's DCGAN and VAE examples.

Both expose what `dlflow sample` draws from: a `generator` (latent vectors -> images in [0, 1]) and
its `latent_dim`. `preprocess` (offered by dlflow) maps the raw pixels to [0, 1] (builtin:digits:
x / 16) inside the model, so the data stays raw. Registered with Keras, so model.keras reloads
once this module is imported (`--trust-code` when it is not installed).
"""

import keras
from keras import layers, ops


def _generator(latent_dim, shape, batch_norm=False):
    """Latent vectors -> images of `shape` (height, width, channels; height and width multiples of 4);
    `batch_norm` after each block, as DCGAN's generator has (momentum 0.8: its moving statistics, used
    when sampling, follow the few hundred steps of a small run)."""
    height, width, channels = shape

    def block(layer):
        return [layer, *([layers.BatchNormalization(momentum=0.8)] if batch_norm else []), layers.LeakyReLU(0.2)]

    return keras.Sequential([
        keras.Input((latent_dim,)),
        *block(layers.Dense(height // 4 * width // 4 * 64)),
        layers.Reshape((height // 4, width // 4, 64)),
        *block(layers.Conv2DTranspose(64, 4, strides=2, padding="same")),
        *block(layers.Conv2DTranspose(32, 4, strides=2, padding="same")),
        layers.Conv2D(channels, 3, padding="same", activation="sigmoid"),
    ], name="generator")


@keras.saving.register_keras_serializable(package="generative_models")
class MinibatchStd(layers.Layer):
    """Appends the batch's mean standard deviation of the features to each sample's features: the
    discriminator then sees a batch without variety (mode collapse) and the generator is pushed away."""

    def call(self, features):
        spread = ops.mean(ops.std(features, axis=0))
        return ops.concatenate([features, ops.ones_like(features[:, :1]) * spread], axis=-1)


@keras.saving.register_keras_serializable(package="generative_models")
class DCGAN(keras.Model):
    """Keras's DCGAN example in small: a convolutional generator and discriminator, two optimizers."""

    def __init__(self, latent_dim=16, shape=(8, 8, 1), preprocess=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.shape, self.preprocess = latent_dim, tuple(shape), preprocess
        self.generator = _generator(latent_dim, self.shape, batch_norm=True)
        self.discriminator = keras.Sequential([
            keras.Input(self.shape),
            layers.Conv2D(32, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
            layers.Flatten(), MinibatchStd(), layers.Dropout(0.2), layers.Dense(1),
        ], name="discriminator")
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn
        self.d_loss_metric = keras.metrics.Mean(name="d_loss")
        self.g_loss_metric = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_metric, self.g_loss_metric]

    def get_compile_config(self):
        return None  # its compile takes optimizer objects: a reloaded DCGAN samples; compile it again to train

    def call(self, noise):
        return self.generator(noise)

    def train_step(self, images):
        import tensorflow as tf

        real = self.preprocess(images, training=True)
        batch = ops.shape(real)[0]
        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        fake = self.generator(noise, training=True)
        ones = ops.ones((batch, 1)) + 0.05 * keras.random.uniform((batch, 1), seed=self.seed_generator)  # noisy
        with tf.GradientTape() as tape:  # fake (1) and real (0) apart: MinibatchStd sees each batch's own spread
            d_loss = 0.5 * (self.loss_fn(ones, self.discriminator(fake, training=True))
                            + self.loss_fn(ones - 1, self.discriminator(real, training=True)))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights, strict=True))
        noise = keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            g_loss = self.loss_fn(ops.zeros((batch, 1)),
                                  self.discriminator(self.generator(noise, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        self.d_loss_metric.update_state(d_loss)
        self.g_loss_metric.update_state(g_loss)
        return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "shape": list(self.shape),
                "preprocess": keras.saving.serialize_keras_object(self.preprocess)}

    @classmethod
    def from_config(cls, config):
        preprocess = keras.saving.deserialize_keras_object(config.pop("preprocess"))
        return cls(preprocess=preprocess, **config)


def build_dcgan(latent_dim=16, learning_rate=2e-4, input_shape=None, preprocess=None):
    """The DCGAN factory: compiled here with its two Adam optimizers (beta_1 0.5, as in the example)."""
    gan = DCGAN(latent_dim=latent_dim, shape=input_shape, preprocess=preprocess)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    return gan


@keras.saving.register_keras_serializable(package="generative_models")
class Sampling(layers.Layer):
    """z = mean + exp(log_var / 2) * epsilon: the reparameterization trick."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        mean, log_var = inputs
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon


@keras.saving.register_keras_serializable(package="generative_models")
class VAE(keras.Model):
    """Keras's VAE example in small: a conv encoder to (mean, log variance), the sampling layer, a decoder;
    the loss is the reconstruction loss (a Gaussian decoder's: squared error / 2 sigma^2) plus the KL term,
    each reported, for training and validation (`test_step`)."""

    def __init__(self, latent_dim=2, shape=(8, 8, 1), sigma=0.1, preprocess=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim, self.shape, self.sigma, self.preprocess = latent_dim, tuple(shape), sigma, preprocess
        features = keras.Input(self.shape)
        x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(features)
        x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
        x = layers.Dense(32, activation="relu")(layers.Flatten()(x))
        mean, log_var = layers.Dense(latent_dim, name="z_mean")(x), layers.Dense(latent_dim, name="z_log_var")(x)
        self.encoder = keras.Model(features, [mean, log_var, Sampling()([mean, log_var])], name="encoder")
        self.generator = _generator(latent_dim, self.shape)  # the decoder: what `dlflow sample` draws from
        self.trackers = [keras.metrics.Mean(name=n) for n in ("loss", "reconstruction_loss", "kl_loss")]

    @property
    def metrics(self):
        return self.trackers

    def call(self, images):
        return self.generator(self.encoder(self.preprocess(images))[2])

    def _loss_terms(self, images, training):
        real = self.preprocess(images, training=training)
        mean, log_var, z = self.encoder(real, training=training)
        reconstruction = self.generator(z, training=training)
        # A Gaussian decoder with a fixed `sigma`: the squared error over the pixels / (2 sigma^2) (the
        # digits' grey pixels are not the 0/1 that a binary cross-entropy would assume).
        squared = ops.sum(ops.square(real - reconstruction), axis=(1, 2, 3))
        reconstruction_loss = ops.mean(squared) / (2 * self.sigma**2)
        kl_loss = ops.mean(ops.sum(-0.5 * (1 + log_var - ops.square(mean) - ops.exp(log_var)), axis=1))
        return reconstruction_loss + kl_loss, reconstruction_loss, kl_loss

    def _report(self, values):
        for tracker, value in zip(self.trackers, values, strict=True):
            tracker.update_state(value)
        return {t.name: t.result() for t in self.trackers}

    def train_step(self, images):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            values = self._loss_terms(images, training=True)
        grads = tape.gradient(values[0], self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return self._report(values)

    def test_step(self, images):
        return self._report(self._loss_terms(images, training=False))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "shape": list(self.shape), "sigma": self.sigma,
                "preprocess": keras.saving.serialize_keras_object(self.preprocess)}

    @classmethod
    def from_config(cls, config):
        preprocess = keras.saving.deserialize_keras_object(config.pop("preprocess"))
        return cls(preprocess=preprocess, **config)


def build_vae(latent_dim=2, sigma=0.1, input_shape=None, preprocess=None):
    """The VAE factory: not compiled here, so dlflow compiles it with the config's `compile:` optimizer
    (its train_step applies `self.optimizer`)."""
    return VAE(latent_dim=latent_dim, shape=input_shape, sigma=sigma, preprocess=preprocess)
