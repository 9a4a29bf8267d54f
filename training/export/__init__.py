"""Trained networks as deployable files: ONNX (run by onnxruntime) and TorchScript.

`files.py` writes and reads the two formats (any input height and width, the metadata predict
needs inside the file); `runtime.py` runs a file as a callable with the network's own call
signature, so the predictors' pre- and post-processing is the same code for a checkpoint and an
exported file.
"""
