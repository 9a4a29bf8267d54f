"""FBA matting network: GN+WS ResNet-50 encoder, pyramid pooling, U-Net decoder, 7-channel head.

Thesis Ch. 4.3.1 and Table 4.1. The encoder sees 11 channels (ImageNet-normalised RGB, the
two trimap masks, the six Gaussian distance maps); the decoder's last stage sees the normalised
image, the raw image and the trimap masks again so that fine detail does not have to survive the
bottleneck. Output: alpha clipped to [0, 1] (clipping beat a sigmoid, Table 4.3), F and B through
a sigmoid. F, B, alpha fusion (Eq. 4.3-4.5) is a separate test-time step (:mod:`training.fusion`)
unless the config puts it inside the forward, as the published network does.

The config fields ``norm_order``, ``weight_standardisation`` and ``fusion_in_forward`` choose
between readings of the thesis text and the published code (``docs/published.md``); their
defaults are the behaviour of checkpoints written before they existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.config import TableConfig
from training.fusion import fuse_fba
from training.models.gnws import WS_FORMULAS, WSConv2d, group_norm
from training.models.pooling import adaptive_avg_pool2d
from training.models.pretrained import PretrainedReport, load_encoder_weights
from training.models.resnet_gnws import ResNetGNWS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
OUTPUT_STRIDE = 8
"""H and W must be multiples of this so every skip connection meets its upsampled partner."""
NORM_ORDERS = ("act_norm", "norm_act")
"""Decoder blocks: conv -> LeakyReLU -> GroupNorm (our reading of Table 4.1) or conv -> GroupNorm
-> LeakyReLU (the published FBA and DIS code)."""


@dataclass(frozen=True)
class EncoderDecoderConfig(TableConfig):
    """The structure FBA matting and interactive segmentation share (their configs extend it):
    a GN+WS ResNet encoder, pyramid pooling and a six-stage decoder. Defaults are the thesis's:
    ResNet-50 (width 64, blocks 3/4/6/3), PPM bins 1/2/3/6 with 256 channels each, the decoder
    channels of Table 4.1 (conv1..conv6; the head comes after). ``norm_order`` (:data:`NORM_ORDERS`)
    and ``weight_standardisation`` (a key of :data:`training.models.gnws.WS_FORMULAS`) say how the
    normalised convolutions compute; see ``docs/published.md``."""

    width: int = 64
    blocks: tuple[int, ...] = (3, 4, 6, 3)
    gn_groups: int = 32
    ppm_bins: tuple[int, ...] = (1, 2, 3, 6)
    ppm_channels: int = 256
    decoder_channels: tuple[int, ...] = (256, 256, 256, 64, 32, 16)
    leaky_slope: float = 0.01
    norm_order: str = "act_norm"
    weight_standardisation: str = "std"

    def __post_init__(self) -> None:
        check_positive_ints(self, {"blocks": 4, "decoder_channels": 6, "ppm_bins": None},
                            ("width", "gn_groups", "ppm_channels"))
        if not isinstance(self.leaky_slope, (int, float)) or self.leaky_slope < 0:
            raise ValueError(f"model config leaky_slope must be a non-negative number, got {self.leaky_slope!r}")
        check_choice(self, "norm_order", NORM_ORDERS)
        check_choice(self, "weight_standardisation", tuple(WS_FORMULAS))


@dataclass(frozen=True)
class FBAConfig(EncoderDecoderConfig):
    """Everything needed to rebuild an :class:`FBANet` (stored in checkpoints via :meth:`to_dict`);
    defaults are the thesis network, with a 7-channel head (alpha, F, B)."""

    in_channels: int = 11
    encoder_masks: bool = True
    """Whether the two definite FG/BG masks enter the encoder (FBA: 11 channels) or only the
    decoder's guide (interactive matting, thesis Ch. 5.2.1: RGB + 6 maps = 9 channels)."""
    fusion_in_forward: bool = False
    """Apply the published code's F, B, alpha fusion (:func:`training.fusion.fuse_fba` with
    ``b_from_new_f``) at the end of the forward instead of the thesis fusion as a separate
    test-time step; a predictor then does not fuse again."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, {}, ("in_channels",))


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def check_choice(config: Any, name: str, choices: tuple[str, ...]) -> None:
    """A model config field that must be one of ``choices``."""
    if getattr(config, name) not in choices:
        raise ValueError(f"model config {name} must be one of {', '.join(choices)}, got {getattr(config, name)!r}")


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


class NormConv(nn.Sequential):
    """A Table 4.1 row with GN ticked: WS conv (bias), then LeakyReLU and GroupNorm in the config's
    ``norm_order`` (module 0 is the conv; the GroupNorm is module 2 for ``act_norm``, 1 for ``norm_act``)."""

    def __init__(self, cin: int, cout: int, kernel: int, cfg: EncoderDecoderConfig) -> None:
        act, norm = nn.LeakyReLU(cfg.leaky_slope, inplace=True), group_norm(cout, cfg.gn_groups)
        super().__init__(WSConv2d(cin, cout, kernel, padding=kernel // 2, ws=cfg.weight_standardisation),
                         *((act, norm) if cfg.norm_order == "act_norm" else (norm, act)))


class PyramidPooling(nn.Module):
    """PSPNet pooling: average-pool to b x b for each bin, 1x1 conv, upsample, concat with input.

    The pooling is :func:`training.models.pooling.adaptive_avg_pool2d` (PyTorch's bins, written
    so that an exported network computes them from the run-time size; ``F.adaptive_avg_pool2d``
    does not export unless H/8 and W/8 are multiples of every bin)."""

    def __init__(self, cin: int, cfg: EncoderDecoderConfig) -> None:
        super().__init__()
        self.bins = cfg.ppm_bins
        self.branches = nn.ModuleList(NormConv(cin, cfg.ppm_channels, 1, cfg) for _ in self.bins)
        self.out_channels = cin + cfg.ppm_channels * len(self.bins)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(adaptive_avg_pool2d(x, b)), size=size, mode="bilinear",
                                align_corners=False) for b, branch in zip(self.bins, self.branches, strict=True)]
        return torch.cat([x, *pooled], dim=1)


def up2(x: Tensor) -> Tensor:
    """The decoders' 2x bilinear upsampling (half-pixel centres)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class FBADecoder(nn.Module):
    """Table 4.1: conv1, conv2 (up), +layer1, conv3 (up), +stem, conv4 (up), +image & trimap, conv5-7."""

    def __init__(self, cfg: FBAConfig, encoder_channels) -> None:
        super().__init__()
        slope = cfg.leaky_slope
        c1, c2, c3, c4, c5, c6 = cfg.decoder_channels
        self.ppm = PyramidPooling(encoder_channels.layer4, cfg)
        self.conv1 = NormConv(self.ppm.out_channels, c1, 3, cfg)
        self.conv2 = NormConv(c1, c2, 3, cfg)
        self.conv3 = NormConv(c2 + encoder_channels.layer1, c3, 3, cfg)
        self.conv4 = NormConv(c3 + encoder_channels.stem, c4, 3, cfg)
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

    mean: Tensor   # ImageNet statistics, non-persistent buffers
    std: Tensor

    def __init__(self, cfg: FBAConfig | None = None) -> None:
        super().__init__()
        self.config = cfg or FBAConfig()
        self.encoder = ResNetGNWS(self.config.in_channels, self.config.width, self.config.blocks,
                                  self.config.gn_groups, self.config.weight_standardisation)
        self.decoder = FBADecoder(self.config, self.encoder.channels)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: Tensor, trimap2: Tensor, trimap_maps: Tensor) -> Tensor:
        _check_inputs(image, trimap2, trimap_maps, self.config.in_channels, self.config.encoder_masks)
        image_n = (image - self.mean) / self.std
        encoder_in = [image_n, trimap2, trimap_maps] if self.config.encoder_masks else [image_n, trimap_maps]
        feats = self.encoder(torch.cat(encoder_in, dim=1))
        out = self.decoder(feats, image_n, image, trimap2)
        if not self.config.fusion_in_forward:
            return out
        return torch.cat(fuse_fba(image, out[:, :1], out[:, 1:4], out[:, 4:7], b_from_new_f=True), dim=1)

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
