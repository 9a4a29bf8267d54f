"""matting-datagen: training data and benchmarks for deep image matting and interactive segmentation."""

__version__ = "0.1.0"
