"""Winograd convolution for CPU inference: the 3x3 stride-1 convolutions through NNPACK.

Why: on a CPU the thesis-size networks spend ~90% of a 1080p predict in convolutions, two
thirds of whose multiply-adds are 3x3 stride-1 (ResNet-50's bottleneck middles, dilated by 2
and 4 in the last two stages, and the decoders' 3x3 layers); the direct convolutions already
run near the cores' fp32 FMA peak (`tests/bench/predict.py`), so only fewer multiplications make
them faster. NNPACK, built into PyTorch's CPU wheels, computes a 3x3 convolution with Winograd's
F(6x6, 3x3) transform (64 multiplications per 36 outputs instead of 324): 2.4-3.8x the direct
convolution here, with errors of ~1e-5 of the output's range (float32 rounding of the
transforms; the direct convolution's own rounding is ~4e-6).

A dilated convolution (dilation d, padding d) is d x d undilated ones on the interleaved
sub-grids of its input (rows ``a::d``, columns ``b::d``). Rather than d*d small calls (each
transforming the weights again), the sub-grids are laid side by side in one mosaic with a row and
a column of zeros after each: a 3x3 window at a sub-grid's edge then reads zeros, exactly the
zero padding it would see alone, so one call on the mosaic gives every sub-grid's output.

Inference only: a call that needs gradients, runs on another device or dtype, or a torch without
NNPACK takes the module's plain ``F.conv2d``, so swapping the modules never changes what can run.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def nnpack_available() -> bool:
    """Whether this torch build has NNPACK (x86-64 and ARM CPU wheels do); the call also
    initialises it, which NNPACK's convolution needs before its first use."""
    return bool(getattr(torch, "_nnpack_available", lambda: False)())


class WinogradConv2d(nn.Conv2d):
    """A 3x3, stride-1, ``padding == dilation`` convolution computed by Winograd on CPU (see module notes)."""

    def forward(self, x: Tensor) -> Tensor:
        if (x.device.type != "cpu" or x.dtype != torch.float32 or self.weight.dtype != torch.float32
                or (torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad))):
            return super().forward(x)
        bias = self.bias if self.bias is not None else self.weight.new_zeros(self.out_channels)
        return torch.cat([_winograd(image[None], self.weight, bias, self.dilation[0]) for image in x])


def _winograd(x: Tensor, weight: Tensor, bias: Tensor, d: int) -> Tensor:
    """``F.conv2d(x, weight, bias, padding=d, dilation=d)`` for one 1xCxHxW image, by NNPACK."""
    if d == 1:
        return torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, [1, 1], [1, 1])
    _, c, h, w = x.shape
    rows, cols = -(-h // d), -(-w // d)        # each sub-grid's size; one zero row and column follow it
    padded = F.pad(x, (0, (cols + 1) * d - w, 0, (rows + 1) * d - h))
    mosaic = (padded.reshape(c, rows + 1, d, cols + 1, d).permute(0, 2, 1, 4, 3)
              .reshape(1, c, d * (rows + 1), d * (cols + 1)))
    out = torch._nnpack_spatial_convolution(mosaic, weight, bias, [1, 1], [1, 1])
    co = out.shape[1]
    out = (out.reshape(co, d, rows + 1, d, cols + 1).permute(0, 2, 1, 4, 3)
           .reshape(1, co, (rows + 1) * d, (cols + 1) * d))
    return out[:, :, :h, :w]


MIN_CHANNELS = 64
"""Fewest input channels of a convolution worth Winograd by default. NNPACK's transform
workspace grows with the input's pixels: on the narrowest full-resolution layers (a decoder's
last convolution, every layer of the tiny configs) it raised a 4 MP predict's peak memory by
half for a 1.1-1.5x faster layer; from 64 channels on the layers are 1.9-3.8x faster (ResNet's
first stage at 1/4 resolution is 4% of the thesis networks' multiply-adds)."""


def winograd_eligible(conv: nn.Module, min_channels: int = MIN_CHANNELS) -> bool:
    """A plain 3x3 stride-1 convolution padded by its dilation (the "same" size), zeros padding,
    with at least ``min_channels`` input channels."""
    return (type(conv) is nn.Conv2d and conv.in_channels >= min_channels and conv.kernel_size == (3, 3)
            and conv.stride == (1, 1)
            and conv.groups == 1 and conv.padding_mode == "zeros" and conv.dilation[0] == conv.dilation[1]
            and conv.padding == conv.dilation)


def use_winograd(module: nn.Module, min_channels: int = MIN_CHANNELS) -> nn.Module:
    """An inference copy of ``module`` whose eligible convolutions (:func:`winograd_eligible`)
    compute by Winograd on CPU (``module`` itself is not changed). Fold weight
    standardisation first (:func:`training.models.gnws.fold_weight_standardisation`): a
    standardised convolution is not a plain one. Raises RuntimeError where NNPACK is missing."""
    if not nnpack_available():
        raise RuntimeError("this torch build has no NNPACK: Winograd convolution is unavailable (use direct)")
    fast = copy.deepcopy(module)
    for conv in list(fast.modules()):
        if winograd_eligible(conv, min_channels):
            conv.__class__ = WinogradConv2d         # same parameters and attributes, another forward
    return fast
