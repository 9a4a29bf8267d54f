"""Training data read from the shard store: FBA matting samples and the trimap/click encodings."""

from training.data.encodings import FBA_SIGMAS_PX, distance_maps
from training.data.matting import MattingData, MattingDataConfig

__all__ = ["FBA_SIGMAS_PX", "MattingData", "MattingDataConfig", "distance_maps"]
