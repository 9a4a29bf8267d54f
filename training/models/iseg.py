"""The interactive segmentation network of thesis Ch. 3.2.1 (Tables 3.1 and 3.2).

Two streams, fused late:

* image stream: the GN+WS ResNet-50 at output stride 8 (:mod:`training.models.resnet_gnws`)
  on 9 channels, ImageNet-normalised RGB and the 6 Gaussian click maps;
* interaction stream (Table 3.1): the previous mask and the 6 click maps (7 channels) through six
  plain convolutions with LeakyReLU, strides 1, 2, 1, 2, 2, 1, so its last layer is at H/8 like
  the image stream's.

Decoder (Table 3.2): ``layer4`` and interaction ``conv6`` concatenated, pyramid pooling
(2048 + 256 in, 4 x 256 pooled: the 3328 channels of the table), conv1, conv2 (up),
+ ``layer1`` and interaction ``conv4`` (768), conv3 (up), + the stem and interaction ``conv2``,
conv4 (up), + image and clicks (64 + 3 + 6 = 73), conv5, conv6, 1x1 conv7 clipped to [0, 1],
then the 5x5 deep guided filter (:mod:`training.models.guided_filter`). The table lists 384
channels at the stem concatenation; 256 + 64 (stem) + 128 (interaction conv2) = 448 is what the
named inputs give, and what is built here.

Click maps: ``exp(-d^2 / (2 (sigma L)^2))`` of the distance to the nearest click of each kind,
sigma in {0.02, 0.04, 0.08}, ``L`` the image's longer side (the thesis trains on square 352 px
crops, where every choice of L agrees), or a fixed ``click_side`` (the published code: L = 352,
sigma 0.02/0.08/0.16).

Published variant (``docs/published.md``): the config fields ``guide`` (what the guided filter's
guide is computed from), ``guide_channels``, ``force_clicks_before_filter``, ``click_side`` and
the shared ``norm_order``/``weight_standardisation`` express the published network; their
defaults are the behaviour of checkpoints written before they existed. With
``force_clicks_before_filter`` the clicked pixels are forced on the filter's input (found where
the first map of each kind is exactly 1, i.e. at distance 0), and nothing is forced after it.

Output: :meth:`IsegNet.forward` returns the raw prediction (what the loss of Eq. 3.1 sees,
including its click term); :func:`force_clicks` sets clicked pixels to their label, which is
what a user and the click robot see (:meth:`IsegNet.predict`). Any H x W is accepted: the input
is padded by mirroring to a multiple of 8 and the output cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.data.encodings import distance_maps
from training.models.fba import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    OUTPUT_STRIDE,
    EncoderDecoderConfig,
    NormConv,
    PyramidPooling,
    check_choice,
    check_positive_ints,
    up2,
)
from training.models.guided_filter import GUIDES, DeepGuidedFilter
from training.models.pretrained import PretrainedReport, load_encoder_weights
from training.models.resnet_gnws import ResNetGNWS

CLICK_SIGMAS = (0.02, 0.04, 0.08)
"""Click-map sigmas as fractions of the image's longer side (thesis Ch. 3.2.1)."""
INTERACTION_STRIDES = (1, 2, 1, 2, 2, 1)
"""Table 3.1: strides of interaction conv1..conv6."""


@dataclass(frozen=True)
class IsegNetConfig(EncoderDecoderConfig):
    """Everything needed to rebuild an :class:`IsegNet`; defaults are the thesis network: the
    shared encoder-decoder plus the click-map interaction stream (Table 3.1) and the guided filter."""

    interaction_channels: tuple[int, ...] = (64, 128, 256, 256, 256, 256)
    guided_radius: int = 2
    guided_eps: float = 1e-2
    click_sigmas: tuple[float, ...] = CLICK_SIGMAS
    click_side: int = 0
    """L of the click maps in pixels; 0: the image's longer side."""
    guide: str = "image"
    """The guided filter's guide: from the normalised image (``image``) or from it and the two
    smallest-sigma click maps (``image_clicks``, the published network); see :data:`GUIDES`."""
    guide_channels: int = 16
    force_clicks_before_filter: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_ints(self, {"interaction_channels": 6}, ("guided_radius", "guide_channels"))
        if len(self.click_sigmas) != 3 or min(self.click_sigmas) <= 0:
            raise ValueError(f"model config click_sigmas must be three positive fractions, got {self.click_sigmas!r}")
        if not isinstance(self.click_side, int) or self.click_side < 0:
            raise ValueError(f"model config click_side must be 0 (the longer side) or pixels, got {self.click_side!r}")
        check_choice(self, "guide", tuple(GUIDES))


def click_maps(masks: np.ndarray, sigmas: tuple[float, ...] = CLICK_SIGMAS, side: int = 0) -> np.ndarray:
    """6xHxW float32 Gaussian click maps of 2xHxW click masks (positive maps first), with the
    sigmas in pixels ``sigma x side`` (``side`` 0: the longer side); a kind with no click has
    all-zero maps."""
    side = side or max(masks.shape[1:])
    return distance_maps(masks[0] > 0, masks[1] > 0, tuple(s * side for s in sigmas))


def clicked_pixels(maps: Tensor) -> Tensor:
    """Bx2xHxW click masks (positive, negative) recovered from Bx6xHxW click maps: a map is
    exactly 1 only at distance 0 (the squared distance is an exact integer, see
    :mod:`training.data.encodings`), so the clicked pixels need no second input."""
    return (maps[:, 0::3][:, :2] == 1).to(maps.dtype)


def force_clicks(prob: Tensor, masks: Tensor) -> Tensor:
    """``prob`` (Bx1xHxW) with positive-click pixels set to 1 and negative ones to 0."""
    return torch.where(masks[:, :1] > 0, torch.ones_like(prob), torch.where(masks[:, 1:2] > 0, torch.zeros_like(prob), prob))


class InteractionStream(nn.Module):
    """Table 3.1: six 3x3 convolutions with LeakyReLU; returns every layer's output."""

    def __init__(self, channels: tuple[int, ...], slope: float) -> None:
        super().__init__()
        cin, layers = 7, []
        for cout, stride in zip(channels, INTERACTION_STRIDES, strict=True):
            layers.append(nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(slope, inplace=True)))
            cin = cout
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out


class IsegDecoder(nn.Module):
    """Table 3.2 (see the module notes for the channel counts)."""

    def __init__(self, cfg: IsegNetConfig, enc) -> None:
        super().__init__()
        slope = cfg.leaky_slope
        i = cfg.interaction_channels
        c1, c2, c3, c4, c5, c6 = cfg.decoder_channels
        self.ppm = PyramidPooling(enc.layer4 + i[5], cfg)
        self.conv1 = NormConv(self.ppm.out_channels, c1, 3, cfg)
        self.conv2 = NormConv(c1, c2, 3, cfg)
        self.conv3 = NormConv(c2 + enc.layer1 + i[3], c3, 3, cfg)
        self.conv4 = NormConv(c3 + enc.stem + i[1], c4, 3, cfg)
        self.conv5 = nn.Sequential(nn.Conv2d(c4 + 3 + 6, c5, 3, padding=1), nn.LeakyReLU(slope, inplace=True))
        self.conv6 = nn.Sequential(nn.Conv2d(c5, c6, 3, padding=1), nn.LeakyReLU(slope, inplace=True))
        self.conv7 = nn.Conv2d(c6, 1, 1)

    def forward(self, feats, inter: list[Tensor], image_n: Tensor, maps: Tensor) -> Tensor:
        x = up2(self.conv2(self.conv1(self.ppm(torch.cat([feats.layer4, inter[5]], dim=1)))))
        x = up2(self.conv3(torch.cat([x, feats.layer1, inter[3]], dim=1)))
        x = up2(self.conv4(torch.cat([x, feats.stem, inter[1]], dim=1)))
        x = self.conv6(self.conv5(torch.cat([x, image_n, maps], dim=1)))
        return self.conv7(x).clamp(0, 1)


class IsegNet(nn.Module):
    """``net(image, maps, prev_mask) -> Bx1xHxW`` raw foreground probability in [0, 1].

    ``image`` Bx3xHxW RGB in [0, 1]; ``maps`` the 6 click maps (:func:`click_maps`); ``prev_mask``
    Bx1xHxW, the previous prediction (zeros before the first click). Any H, W.
    """

    mean: Tensor   # ImageNet statistics, non-persistent buffers
    std: Tensor

    def __init__(self, cfg: IsegNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg or IsegNetConfig()
        c = self.config
        self.encoder = ResNetGNWS(9, c.width, c.blocks, c.gn_groups, c.weight_standardisation)
        self.interaction = InteractionStream(c.interaction_channels, c.leaky_slope)
        self.decoder = IsegDecoder(c, self.encoder.channels)
        self.refine = DeepGuidedFilter(c.guided_radius, c.guided_eps, c.guide_channels, c.leaky_slope, c.guide)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: Tensor, maps: Tensor, prev_mask: Tensor) -> Tensor:
        _check_inputs(image, maps, prev_mask)
        h, w = image.shape[-2:]
        image, maps, prev_mask = pad_to_stride(image, maps, prev_mask)
        image_n = (image - self.mean) / self.std
        feats = self.encoder(torch.cat([image_n, maps], dim=1))
        inter = self.interaction(torch.cat([prev_mask, maps], dim=1))
        coarse = self.decoder(feats, inter, image_n, maps)
        if self.config.force_clicks_before_filter:
            coarse = force_clicks(coarse, clicked_pixels(maps))
        guide_in = image_n if self.config.guide == "image" else torch.cat([image_n, maps[:, 0::3][:, :2]], dim=1)
        return self.refine(guide_in, coarse)[..., :h, :w]

    def predict(self, image: Tensor, masks: Tensor, prev_mask: Tensor) -> Tensor:
        """The prediction a user sees (:func:`predict_clicks` with this network's forward)."""
        return predict_clicks(self, self.config, image, masks, prev_mask)

    def load_pretrained(self, path: str | Path) -> PretrainedReport:
        """ImageNet ResNet-50 weights into the image stream (the click channels start at zero)."""
        return load_encoder_weights(self.encoder, path)


def pad_to_stride(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The network's inputs padded at the bottom and right by repeating the edge to multiples of
    :data:`OUTPUT_STRIDE` (its forward crops the output back); unchanged if they are."""
    h, w = tensors[0].shape[-2:]
    ph, pw = -h % OUTPUT_STRIDE, -w % OUTPUT_STRIDE
    if not (ph or pw):
        return tensors
    return tuple(F.pad(t, (0, pw, 0, ph), mode="replicate") for t in tensors)


def click_map_tensor(masks: Tensor, config: IsegNetConfig) -> Tensor:
    """Bx6xHxW click maps of Bx2xHxW click masks under ``config``'s sigmas and side."""
    return torch.stack([torch.from_numpy(click_maps(m, config.click_sigmas, config.click_side))
                        for m in masks.cpu().numpy()])


def predict_clicks(forward: Callable[[Tensor, Tensor, Tensor], Tensor], config: IsegNetConfig, image: Tensor,
                   masks: Tensor, prev_mask: Tensor) -> Tensor:
    """The prediction a user sees: ``forward`` (an :class:`IsegNet`, or an exported one with the
    same call) on the click maps of ``masks`` (Bx2xHxW), clicked pixels forced to their label
    after the forward, unless the network forces them on the guided filter's input (then its
    output is the answer as it stands)."""
    out = forward(image, click_map_tensor(masks, config).to(image.device, image.dtype), prev_mask)
    return out if config.force_clicks_before_filter else force_clicks(out, masks)


def _check_inputs(image: Tensor, maps: Tensor, prev_mask: Tensor) -> None:
    """Shape errors worth one clear line instead of a convolution's size mismatch deep inside."""
    for name, t, c in (("image", image, 3), ("maps", maps, 6), ("prev_mask", prev_mask, 1)):
        if t.ndim != 4 or t.shape[1] != c:
            raise ValueError(f"{name} must be Bx{c}xHxW, got {tuple(t.shape)}")
    if not (image.shape[0] == maps.shape[0] == prev_mask.shape[0]
            and image.shape[-2:] == maps.shape[-2:] == prev_mask.shape[-2:]):
        raise ValueError(f"image {tuple(image.shape)}, maps {tuple(maps.shape)} and prev_mask "
                         f"{tuple(prev_mask.shape)} must share batch size, height and width")
