"""dlflow: the universal workflow of machine learning, for Keras 3, from a YAML config."""

__version__ = "0.1.0"
