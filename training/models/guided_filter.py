"""The guided filter as a differentiable layer: the last stage of the interactive segmentation net.

The decoder's mask is smooth at its output resolution; the guided filter (He et al., "Guided
Image Filtering", ECCV 2010) re-expresses it, in every (2r+1)^2 window, as an affine function
``q = a * I + b`` of a guidance image ``I``, so mask edges snap to image edges and thin structures
(hair) that the guide shows come back at sub-pixel precision. Wu et al., "Fast End-to-End
Trainable Guided Filter", CVPR 2018 (the "deep guided filter"), made it a trainable layer: every
step is differentiable, and the guide is not the raw image but a learned per-pixel transform of
it (two 1x1 convolutions), trained end to end with the network. Thesis Ch. 3.2.1 appends such a
layer with a 5x5 window (radius 2).

Box sums use the clipped window at the borders (the count ``N`` is per pixel), as in He's and
Wu's implementations, computed by cumulative sums: O(1) per pixel whatever the radius.

Precision: the layer filters in float64 whatever the network's dtype. With a small ``eps`` (the
published network: 1e-8) the variance ``E[I^2] - E[I]^2`` from cumulative sums loses every
significant digit in float32 and the output moves by up to 0.66 on real inputs; in float64 it
stays within 1.3e-4 of a float64 reference. The cost is one channel of box sums.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

GUIDES = {"image": 3, "image_clicks": 5}
"""Guide kinds and their input channels: the normalised image; or it and the two smallest-sigma
click maps (positive, negative), the published network's guide."""


def box_sum(x: Tensor, r: int) -> Tensor:
    """Sum of ``x`` (...xHxW) over the (2r+1)^2 window around each pixel, clipped at the borders."""
    return _window_sum(_window_sum(x, r, -2), r, -1)


def _window_sum(x: Tensor, r: int, dim: int) -> Tensor:
    """Sum over ``[i - r, i + r]`` along ``dim`` (clipped), from one cumulative sum."""
    n = x.shape[dim]
    c = torch.cumsum(x, dim=dim)
    zero = torch.zeros_like(c.narrow(dim, 0, 1))
    c = torch.cat([zero, c], dim=dim)                         # c[k] = sum of x[:k]
    idx = torch.arange(n, device=x.device)
    hi = (idx + r + 1).clamp(max=n)
    lo = (idx - r).clamp(min=0)
    return c.index_select(dim, hi) - c.index_select(dim, lo)


def guided_filter(guide: Tensor, src: Tensor, r: int, eps: float) -> Tensor:
    """He et al.'s guided filter of ``src`` with a one-channel ``guide`` (both Bx1xHxW).

    ``a = cov(I, p) / (var(I) + eps)``, ``b = mean(p) - a mean(I)`` per window, then
    ``q = mean(a) I + mean(b)``; ``eps`` sets how strong an edge must be to be kept.
    """
    if guide.shape != src.shape:
        raise ValueError(f"guide {tuple(guide.shape)} and src {tuple(src.shape)} must have the same shape")
    n = box_sum(torch.ones_like(guide[:1, :1]), r)
    mean_i = box_sum(guide, r) / n
    mean_p = box_sum(src, r) / n
    cov_ip = box_sum(guide * src, r) / n - mean_i * mean_p
    var_i = box_sum(guide * guide, r) / n - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box_sum(a, r) / n * guide + box_sum(b, r) / n


class DeepGuidedFilter(nn.Module):
    """Wu et al.'s trainable guided filter: a learned guide, then :func:`guided_filter` (in float64).

    ``forward(guide_in, mask)``: ``guide_in`` Bx3xHxW (the network-normalised image) or Bx5xHxW
    (with the two click maps) as ``guide`` says, ``mask`` Bx1xHxW; returns the filtered mask
    clipped to [0, 1], in float32 (float64 for a float64 mask). Guide networks: ``image``, 1x1
    conv -> GroupNorm -> LeakyReLU -> 1x1 conv to one channel (Wu et al. use an adaptive
    normalisation at that place; GroupNorm keeps the batch-size-1 training of the thesis well
    defined); ``image_clicks``, 1x1 conv (bias) -> ReLU -> 1x1 conv, the published network's.
    """

    def __init__(self, radius: int = 2, eps: float = 1e-2, hidden: int = 16, slope: float = 0.01,
                 guide: str = "image") -> None:
        super().__init__()
        if radius < 1 or eps <= 0:
            raise ValueError(f"guided filter needs radius >= 1 and eps > 0, got {radius}, {eps}")
        self.radius, self.eps = radius, eps
        if guide == "image":
            layers = [nn.Conv2d(3, hidden, 1, bias=False), nn.GroupNorm(max(1, hidden // 4), hidden),
                      nn.LeakyReLU(slope, inplace=True)]
        else:
            layers = [nn.Conv2d(GUIDES[guide], hidden, 1), nn.ReLU(inplace=True)]
        self.guide = nn.Sequential(*layers, nn.Conv2d(hidden, 1, 1))

    def forward(self, guide_in: Tensor, mask: Tensor) -> Tensor:
        guide = self.guide(guide_in)
        out = guided_filter(guide.double(), mask.double(), self.radius, self.eps).clamp(0, 1)
        return out.to(torch.promote_types(mask.dtype, torch.float32))
