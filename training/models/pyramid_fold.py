"""The pyramid pooling's branches folded into the 3x3 convolution after it, for inference.

Why: the decoders run ``conv1(ppm(x))``: the pooling concatenates ``x`` with each branch's b x b
map upsampled to x's size (FBA: 2048 + 4 x 256 channels at 1/8 resolution, a 400 MB tensor at
1080p), and conv1 spends a third of its multiply-adds on the upsampled, nearly constant channels.
Both steps are linear, and a convolution tap's channel mixing commutes with the (per-channel)
bilinear upsampling, so each branch's share of conv1 is

    sum over taps (dy, dx) of  shift_dy,dx( up( W_dy,dx . p ) ) = sum  R_dy . (W_dy,dx . p) . R_dx^T

where ``p`` is the branch's b x b output, ``R`` the bilinear upsampling matrix of an axis (exactly
``F.interpolate``'s weights, read off it) and ``R_d`` that matrix shifted by the tap's offset with
zero rows where the window leaves the image (conv1's zero padding). That is a few products of
b-wide matrices instead of a full-resolution convolution, and the concatenation is never built.
Same function up to float rounding (tested against the unfolded network).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from training.models.fba import PyramidPooling
from training.models.pooling import adaptive_avg_pool2d


class PyramidPooledConv(nn.Module):
    """``conv(ppm(x))`` for a 3x3, stride-1, padding-1 ``conv`` over a :class:`PyramidPooling`'s
    output, without the upsampled branches (see the module notes)."""

    def __init__(self, ppm: PyramidPooling, conv: nn.Conv2d) -> None:
        super().__init__()
        self.bins = tuple(ppm.bins)
        self.branches = ppm.branches
        branch_channels = [_first_conv(branch).out_channels for branch in ppm.branches]
        cin = conv.in_channels - sum(branch_channels)
        self.direct = nn.Conv2d(cin, conv.out_channels, 3, padding=1, bias=conv.bias is not None)
        with torch.no_grad():
            self.direct.weight.copy_(conv.weight[:, :cin])
            if conv.bias is not None and self.direct.bias is not None:
                self.direct.bias.copy_(conv.bias)
        self.branch_weights = nn.ParameterList(
            nn.Parameter(part.detach().clone(), requires_grad=False)
            for part in torch.split(conv.weight[:, cin:], branch_channels, dim=1))

    def forward(self, x: Tensor) -> Tensor:
        out = self.direct(x)
        h, w = x.shape[-2:]
        for bins, branch, weight in zip(self.bins, self.branches, self.branch_weights, strict=True):
            pooled = branch(adaptive_avg_pool2d(x, bins))                        # N x C x b x b
            taps = torch.einsum("ocyx,ncij->nyxoij", weight, pooled)             # per tap: W . p
            rows, cols = _shifted_upsampling(h, bins, x), _shifted_upsampling(w, bins, x)
            spread = torch.einsum("nyxoij,xXj->nyoiX", taps, cols)
            out = out + torch.einsum("yYi,nyoiX->noYX", rows, spread)
        return out


def _shifted_upsampling(n: int, bins: int, like: Tensor) -> Tensor:
    """(3, n, bins): row ``t`` is the bilinear upsampling matrix from ``bins`` to ``n`` positions
    (``F.interpolate``'s own weights, half-pixel centres) shifted by tap ``t - 1``, zero outside."""
    unit = torch.eye(bins, dtype=like.dtype, device=like.device).view(1, bins, bins, 1)
    matrix = F.interpolate(unit, size=(n, 1), mode="bilinear", align_corners=False)[0, :, :, 0].T   # n x bins
    padded = F.pad(matrix, (0, 0, 1, 1))
    return torch.stack([padded[t:t + n] for t in range(3)])


def _first_conv(module: nn.Module) -> nn.Conv2d:
    return next(m for m in module.modules() if isinstance(m, nn.Conv2d))


def _fold_site(parent: nn.Module) -> tuple[PyramidPooling, nn.Sequential, nn.Conv2d] | None:
    """(ppm, conv1, conv1's convolution) of a decoder :func:`foldable` describes, else None."""
    ppm, conv1 = getattr(parent, "ppm", None), getattr(parent, "conv1", None)
    if not isinstance(ppm, PyramidPooling) or not isinstance(conv1, nn.Sequential) or not len(conv1):
        return None
    conv = conv1[0]
    if (type(conv) is nn.Conv2d and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.in_channels == ppm.out_channels):
        return ppm, conv1, conv
    return None


def foldable(parent: nn.Module) -> bool:
    """A decoder whose ``conv1`` starts with a plain 3x3 same-size convolution over its ``ppm``'s
    whole output (the decoders here call ``conv1(ppm(x))`` with nothing in between)."""
    return _fold_site(parent) is not None


def fold_pyramid_pooling(module: nn.Module) -> nn.Module:
    """An inference copy of ``module`` in which every :func:`foldable` decoder's ``ppm`` computes
    ``conv1[0](ppm(x))`` by :class:`PyramidPooledConv` and ``conv1[0]`` is an identity. Fold weight
    standardisation first: conv1 must be a plain convolution. ``module`` itself is not changed."""
    folded = copy.deepcopy(module)
    for parent in list(folded.modules()):
        site = _fold_site(parent)
        if site is not None:
            ppm, conv1, conv = site
            parent.ppm = PyramidPooledConv(ppm, conv)
            conv1[0] = nn.Identity()
    return folded
