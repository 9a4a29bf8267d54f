"""ResNet-50 (v1.5 bottlenecks) with GroupNorm + Weight Standardisation, output stride 8.

The shared encoder of the FBA matting, interactive segmentation and interactive matting
networks (thesis Ch. 3.2.1 and 4.3.1): ``layer3``/``layer4`` keep the resolution of ``layer2``
and dilate their 3x3 convolutions by 2 and 4 instead, and the stem takes any number of input
channels (image + trimap or click maps). Module names follow torchvision's ResNet (``conv1``,
``bn1``, ``layer1.0.conv2``, ``layer1.0.downsample.0`` ...) so ImageNet state dicts map key for
key; the ``bn*`` modules are GroupNorm layers (the GN+WS ImageNet weights use the same names).
"""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from training.models.gnws import WSConv2d, group_norm

EXPANSION = 4
"""Bottleneck output channels per 'planes' channel."""


class EncoderFeatures(NamedTuple):
    """What a U-Net decoder needs: the stem (before max-pooling) and every layer's output.

    Resolutions for an HxW input: ``stem`` H/2, ``layer1`` H/4, ``layer2``..``layer4`` H/8.
    """

    stem: Tensor
    layer1: Tensor
    layer2: Tensor
    layer3: Tensor
    layer4: Tensor


class EncoderChannels(NamedTuple):
    """The channel count of each :class:`EncoderFeatures` map, for decoders to size their layers."""

    stem: int
    layer1: int
    layer2: int
    layer3: int
    layer4: int


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride, dilation) -> 1x1, each WS conv + GN, ReLU, identity or projected skip."""

    def __init__(self, in_channels: int, planes: int, stride: int, dilation: int, groups: int,
                 ws: str = "std") -> None:
        super().__init__()
        out_channels = planes * EXPANSION
        self.conv1 = WSConv2d(in_channels, planes, 1, bias=False, ws=ws)
        self.bn1 = group_norm(planes, groups)
        self.conv2 = WSConv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation,
                              bias=False, ws=ws)
        self.bn2 = group_norm(planes, groups)
        self.conv3 = WSConv2d(planes, out_channels, 1, bias=False, ws=ws)
        self.bn3 = group_norm(out_channels, groups)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(WSConv2d(in_channels, out_channels, 1, stride=stride, bias=False, ws=ws),
                                            group_norm(out_channels, groups))

    def forward(self, x: Tensor) -> Tensor:
        skip = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + skip)


# (planes multiplier, stride, dilation) of layer1..layer4 at output stride 8. In a dilated layer
# the first block keeps the previous dilation (torchvision's replace_stride_with_dilation rule).
_LAYERS = ((1, 1, 1), (2, 2, 1), (4, 1, 2), (8, 1, 4))


class ResNetGNWS(nn.Module):
    """The encoder; ``ResNetGNWS(3)`` has exactly torchvision ResNet-50's parameters without ``fc``.

    ``width`` is the stem's channel count (64 for ResNet-50) and ``blocks`` the bottlenecks per
    layer ((3, 4, 6, 3) for ResNet-50); narrower/shallower settings give the CPU test variants.
    ``ws`` names the weight-standardisation formula (:data:`training.models.gnws.WS_FORMULAS`).
    """

    def __init__(self, in_channels: int = 3, width: int = 64, blocks: tuple[int, ...] = (3, 4, 6, 3),
                 groups: int = 32, ws: str = "std") -> None:
        super().__init__()
        if len(blocks) != len(_LAYERS) or min(blocks) < 1:
            raise ValueError(f"blocks must be four positive counts, got {blocks}")
        self.in_channels = in_channels
        self.conv1 = WSConv2d(in_channels, width, 7, stride=2, padding=3, bias=False, ws=ws)
        self.bn1 = group_norm(width, groups)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels, dilation = width, 1
        layers = []
        for n_blocks, (mult, stride, layer_dilation) in zip(blocks, _LAYERS, strict=True):
            planes = width * mult
            layer = [Bottleneck(channels, planes, stride, dilation, groups, ws)]
            channels = planes * EXPANSION
            layer += [Bottleneck(channels, planes, 1, layer_dilation, groups, ws) for _ in range(n_blocks - 1)]
            layers.append(nn.Sequential(*layer))
            dilation = layer_dilation
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        # channel count of each returned feature map, for decoders to size their layers
        self.channels = EncoderChannels(width, *(width * mult * EXPANSION for mult, _, _ in _LAYERS))

    def forward(self, x: Tensor) -> EncoderFeatures:
        stem = self.relu(self.bn1(self.conv1(x)))
        l1 = self.layer1(self.maxpool(stem))
        l2 = self.layer2(l1)
        l3 = self.layer3(l2)
        return EncoderFeatures(stem, l1, l2, l3, self.layer4(l3))
