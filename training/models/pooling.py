"""Adaptive average pooling written as two small matrix products, so that it exports.

`F.adaptive_avg_pool2d(x, b)` averages, for output cell i of an axis of length n, the input
positions floor(i n / b) .. ceil((i + 1) n / b) - 1. PyTorch's ONNX exporters cannot express that
for an input size known only at run time (the TorchScript exporter refuses unless n is a multiple
of b; the dynamo one bakes the traced size into its gathers). Here the same bins are computed
from the run-time size as a (b x n) averaging matrix per axis, and the pooled map is
P_h . x . P_w^T: ordinary arange/compare/matmul operations that every exporter and runtime
keeps dynamic, and the same numbers as PyTorch's pooling up to float rounding.
"""

from __future__ import annotations

import torch
from torch import Tensor


def averaging_matrix(n: int | Tensor, bins: int, like: Tensor) -> Tensor:
    """(bins x n) matrix whose row i averages positions floor(i n / bins) .. ceil((i+1) n / bins) - 1."""
    i = torch.arange(bins, device=like.device)
    start = torch.div(i * n, bins, rounding_mode="floor")
    end = torch.div((i + 1) * n + bins - 1, bins, rounding_mode="floor")
    position = torch.arange(n, device=like.device)  # type: ignore[arg-type]  # a traced size is a Tensor
    inside = (position[None, :] >= start[:, None]) & (position[None, :] < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]


def adaptive_avg_pool2d(x: Tensor, bins: int) -> Tensor:
    """`F.adaptive_avg_pool2d(x, bins)` for NxCxHxW `x`, exportable at any H and W."""
    rows = averaging_matrix(x.shape[-2], bins, x)
    columns = averaging_matrix(x.shape[-1], bins, x)
    return torch.matmul(torch.matmul(rows, x), columns.transpose(0, 1))
