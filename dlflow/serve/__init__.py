"""`dlflow serve`: a run's model behind TensorFlow Serving's REST API, with Prometheus metrics.

- `model`: `ServedModel`, what the app serves (name, signature, predict function, decoder);
- `predictor`: the model's forward pass as one traced `tf.function` for any batch size;
- `onnx_predict`: the same forward pass on ONNX Runtime (chosen by `dlflow.workflow.serving_runtime`);
- `request`: parsing `:predict` bodies (row and columnar formats) into checked input arrays;
- `response`: the JSON answers (status, metadata, decoded predictions);
- `batching`: the micro-batcher gathering concurrent requests into one model call;
- `metrics`: counters and histograms in Prometheus' text format;
- `app`: the FastAPI app tying them together; `server`: running it with uvicorn.

The workflow (`dlflow.workflow.serving`) loads the run, chooses the runtime and builds the `ServedModel`; nothing here
reads run directories, and TensorFlow is imported only inside `predictor`'s functions.
"""
