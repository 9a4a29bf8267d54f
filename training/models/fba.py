"""FBA matting network: GN+WS ResNet-50 encoder, pyramid pooling, U-Net decoder, 7-channel head.

Thesis Ch. 4.3.1 and Table 4.1. The encoder sees 11 channels (ImageNet-normalised RGB, the
two trimap masks, the six Gaussian distance maps); the decoder's last stage sees the normalised
image, the raw image and the trimap masks again so that fine detail does not have to survive the
bottleneck. Output: alpha clipped to [0, 1] (clipping beat a sigmoid, Table 4.3), F and B through
a sigmoid. F, B, alpha fusion (Eq. 4.3-4.5) is a separate test-time step: :mod:`training.fusion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.config import TableConfig
from training.models.gnws import WSConv2d, group_norm
from training.models.pretrained import PretrainedReport, load_encoder_weights
from training.models.resnet_gnws import ResNetGNWS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OUTPUT_STRIDE = 8
"""H and W must be multiples of this so every skip connection meets its upsampled partner."""


@dataclass(frozen=True)
class EncoderDecoderConfig(TableConfig):
    """The structure FBA matting and interactive segmentation share (their configs extend it):
    a GN+WS ResNet encoder, pyramid pooling and a six-stage decoder. Defaults are the thesis's:
    ResNet-50 (width 64, blocks 3/4/6/3), PPM bins 1/2/3/6 with 256 channels each, the decoder
    channels of Table 4.1 (conv1..conv6; the head comes after)."""

    width: int = 64
    blocks: tuple[int, ...] = (3, 4, 6, 3)
    gn_groups: int = 32
    ppm_bins: tuple[int, ...] = (1, 2, 3, 6)
    ppm_channels: int = 256
    decoder_channels: tuple[int, ...] = (256, 256, 256, 64, 32, 16)
    leaky_slope: float = 0.01

    def __post_init__(self) -> None:
        check_positive_ints(self, {"blocks": 4, "decoder_channels": 6, "ppm_bins": None},
                            ("width", "gn_groups", "ppm_channels"))
        if not isinstance(self.leaky_slope, (int, float)) or self.leaky_slope < 0:
            raise ValueError(f"model config leaky_slope must be a non-negative number, got {self.leaky_slope!r}")


@dataclass(frozen=True)
class FBAConfig(EncoderDecoderConfig):
    """Everything needed to rebuild an :class:`FBANet` (stored in checkpoints via :meth:`to_dict`);
    defaults are the thesis network, with a 7-channel head (alpha, F, B)."""

    in_channels: int = 11
    encoder_masks: bool = True
    """Whether the two definite FG/BG masks enter the encoder (FBA: 11 channels) or only the
    decoder's guide (interactive matting, thesis Ch. 5.2.1: RGB + 6 maps = 9 channels)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, {}, ("in_channels",))


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def check_positive_ints(config: Any, tuples: dict[str, int | None], scalars: tuple[str, ...]) -> None:
    """The structural checks of a model config: each of ``tuples`` a tuple of positive integers
    (of the given length, or any non-zero length for None), each of ``scalars`` a positive integer."""
    for name, count in tuples.items():
        value = getattr(config, name)
        if not (isinstance(value, tuple) and value and (count is None or len(value) == count)
                and all(_positive_int(v) for v in value)):
            raise ValueError(f"model config {name} must be {count or 'some'} positive integers, got {value!r}")
    for name in scalars:
        if not _positive_int(getattr(config, name)):
            raise ValueError(f"model config {name} must be a positive integer, got {getattr(config, name)!r}")


class ConvLReLUGN(nn.Sequential):
    """Table 4.1 row with GN ticked: WS conv (bias), LeakyReLU, then GroupNorm, in that order."""

    def __init__(self, cin: int, cout: int, kernel: int, slope: float, groups: int) -> None:
        super().__init__(WSConv2d(cin, cout, kernel, padding=kernel // 2), nn.LeakyReLU(slope, inplace=True),
                         group_norm(cout, groups))


class PyramidPooling(nn.Module):
    """PSPNet pooling: average-pool to b x b for each bin, 1x1 conv, upsample, concat with input."""

    def __init__(self, cin: int, bins: tuple[int, ...], channels: int, slope: float, groups: int) -> None:
        super().__init__()
        self.bins = bins
        self.branches = nn.ModuleList(ConvLReLUGN(cin, channels, 1, slope, groups) for _ in bins)
        self.out_channels = cin + channels * len(bins)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(F.adaptive_avg_pool2d(x, b)), size=size, mode="bilinear",
                                align_corners=False) for b, branch in zip(self.bins, self.branches)]
        return torch.cat([x, *pooled], dim=1)


def up2(x: Tensor) -> Tensor:
    """The decoders' 2x bilinear upsampling (half-pixel centres)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class FBADecoder(nn.Module):
    """Table 4.1: conv1, conv2 (up), +layer1, conv3 (up), +stem, conv4 (up), +image & trimap, conv5-7."""

    def __init__(self, cfg: FBAConfig, encoder_channels) -> None:
        super().__init__()
        slope, groups = cfg.leaky_slope, cfg.gn_groups
        c1, c2, c3, c4, c5, c6 = cfg.decoder_channels
        self.ppm = PyramidPooling(encoder_channels.layer4, cfg.ppm_bins, cfg.ppm_channels, slope, groups)
        self.conv1 = ConvLReLUGN(self.ppm.out_channels, c1, 3, slope, groups)
        self.conv2 = ConvLReLUGN(c1, c2, 3, slope, groups)
        self.conv3 = ConvLReLUGN(c2 + encoder_channels.layer1, c3, 3, slope, groups)
        self.conv4 = ConvLReLUGN(c3 + encoder_channels.stem, c4, 3, slope, groups)
        guide_channels = 3 + 3 + 2  # normalised image, raw image, trimap FG/BG masks
        self.conv5 = nn.Sequential(nn.Conv2d(c4 + guide_channels, c5, 3, padding=1), nn.LeakyReLU(slope, inplace=True))
        self.conv6 = nn.Sequential(nn.Conv2d(c5, c6, 3, padding=1), nn.LeakyReLU(slope, inplace=True))
        self.conv7 = nn.Conv2d(c6, 7, 1)

    def forward(self, feats, image_n: Tensor, image: Tensor, trimap2: Tensor) -> Tensor:
        x = up2(self.conv2(self.conv1(self.ppm(feats.layer4))))
        x = up2(self.conv3(torch.cat([x, feats.layer1], dim=1)))
        x = up2(self.conv4(torch.cat([x, feats.stem], dim=1)))
        x = self.conv6(self.conv5(torch.cat([x, image_n, image, trimap2], dim=1)))
        out = self.conv7(x)
        return torch.cat([out[:, :1].clamp(0, 1), torch.sigmoid(out[:, 1:])], dim=1)


class FBANet(nn.Module):
    """``net(image, trimap2, trimap_maps) -> Bx7xHxW`` (alpha, F RGB, B RGB), all in [0, 1].

    ``image`` Bx3xHxW RGB in [0, 1]; ``trimap2`` Bx2xHxW {0, 1} (channel 0 definite FG, 1 definite
    BG); ``trimap_maps`` the six Gaussian distance maps (channels must add up to ``in_channels``).
    """

    def __init__(self, cfg: FBAConfig | None = None) -> None:
        super().__init__()
        self.config = cfg or FBAConfig()
        self.encoder = ResNetGNWS(self.config.in_channels, self.config.width, self.config.blocks,
                                  self.config.gn_groups)
        self.decoder = FBADecoder(self.config, self.encoder.channels)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: Tensor, trimap2: Tensor, trimap_maps: Tensor) -> Tensor:
        _check_inputs(image, trimap2, trimap_maps, self.config.in_channels, self.config.encoder_masks)
        image_n = (image - self.mean) / self.std
        encoder_in = [image_n, trimap2, trimap_maps] if self.config.encoder_masks else [image_n, trimap_maps]
        feats = self.encoder(torch.cat(encoder_in, dim=1))
        return self.decoder(feats, image_n, image, trimap2)

    def load_pretrained(self, path: str | Path) -> PretrainedReport:
        """ImageNet ResNet-50 weights into the encoder; see :mod:`training.models.pretrained`."""
        return load_encoder_weights(self.encoder, path)


def _check_inputs(image: Tensor, trimap2: Tensor, maps: Tensor, in_channels: int, encoder_masks: bool) -> None:
    """Shape errors worth one clear line instead of a convolution's size mismatch deep inside."""
    for name, t, c in (("image", image, 3), ("trimap2", trimap2, 2)):
        if t.ndim != 4 or t.shape[1] != c:
            raise ValueError(f"{name} must be Bx{c}xHxW, got {tuple(t.shape)}")
    if maps.ndim != 4:
        raise ValueError(f"trimap_maps must be BxCxHxW, got {tuple(maps.shape)}")
    fixed = 5 if encoder_masks else 3
    if fixed + maps.shape[1] != in_channels:
        raise ValueError(f"image{' + trimap2' if encoder_masks else ''} + trimap_maps give "
                         f"{fixed + maps.shape[1]} channels, the network takes {in_channels}")
    h, w = image.shape[-2:]
    if trimap2.shape[-2:] != (h, w) or maps.shape[-2:] != (h, w) or trimap2.shape[0] != image.shape[0] \
            or maps.shape[0] != image.shape[0]:
        raise ValueError(f"image {tuple(image.shape)}, trimap2 {tuple(trimap2.shape)} and trimap_maps "
                         f"{tuple(maps.shape)} must share batch size, height and width")
    if h % OUTPUT_STRIDE or w % OUTPUT_STRIDE:
        raise ValueError(f"height and width must be multiples of {OUTPUT_STRIDE}, got {h}x{w} "
                         "(pad the input first)")


def build_model(config: dict[str, Any] | None = None) -> FBANet:
    """An :class:`FBANet` from a plain config dict (as stored in a checkpoint); ``None``: thesis defaults."""
    return FBANet(FBAConfig.from_dict(config or {}))
