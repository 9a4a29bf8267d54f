"""Networks: the GN+WS ResNet-50 core and the FBA matting network built on it."""

from training.models.fba import FBAConfig, FBANet, build_model

__all__ = ["FBAConfig", "FBANet", "build_model"]
