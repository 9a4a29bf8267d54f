"""Training data read from the shard store: FBA matting samples, segmentation samples with masks,
and the trimap/click encodings."""

from training.data.encodings import FBA_SIGMAS_PX, distance_maps
from training.data.matting import MattingData, MattingDataConfig
from training.data.seg import SegData, SegDataConfig

__all__ = ["FBA_SIGMAS_PX", "MattingData", "MattingDataConfig", "SegData", "SegDataConfig", "distance_maps"]
