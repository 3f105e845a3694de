"""Monitoring a served model: drift statistics (no TensorFlow)."""
