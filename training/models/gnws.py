"""Weight-standardised convolution and GroupNorm sizing.

Batch size 1 rules out BatchNorm (thesis Ch. 4.3.2), so every normalised convolution in the
matting and segmentation networks is a Weight Standardised conv followed by GroupNorm
(Qiao et al., "Micro-Batch Training with Batch-Channel Normalization and Weight Standardization").
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

WS_EPS = 1e-5
"""Added to the filter standard deviation (not the variance), as in the WS reference code that
produced the published GN+WS ImageNet weights; changing it changes what those weights compute."""


@dataclass(frozen=True)
class WSFormula:
    """``w^ = (w - mean) / (sqrt(sum((w - mean)^2) / (n - ddof) + eps_var) + eps_std)`` per output
    filter of n weights. The three published codes each standardise a little differently, and a
    network's weights are only right under the formula they were trained with."""

    ddof: int
    eps_var: float
    eps_std: float


WS_FORMULAS = {
    # Qiao et al.'s reference code (the GN+WS ImageNet ResNet-50) and our default: unbiased std + 1e-5
    "std": WSFormula(1, 0.0, WS_EPS),
    # MarcoForte/DeepInteractiveSegmentation layers_WS: sqrt(unbiased var + 1e-12) + 1e-5
    "dis": WSFormula(1, 1e-12, WS_EPS),
    # MarcoForte/FBA_Matting layers_WS (F.batch_norm over each filter): biased var, eps inside the root
    "fba": WSFormula(0, WS_EPS, 0.0),
}
"""Weight-standardisation formulas by the name a model config uses (``weight_standardisation``)."""


class _Standardise(torch.autograd.Function):
    """Weight standardisation with a hand-derived backward.

    Autograd through mean/std/sub/div keeps about a dozen weight-sized temporaries per conv and
    call (``var_mean``'s Welford pass alone is slow on CPU): about a quarter of a 160x160 CPU
    training step here. Here: forward = one centring pass + one scaling pass (two fast row
    reductions), backward = one product pass + two fused multiply-adds. With ``c = w - mean(w)``,
    ``m = n - ddof``, ``s = sqrt(sum(c^2) / m + eps_var)``, ``d = s + eps_std``, ``w^ = c / d`` and
    ``g = dL/dw^`` per filter of n weights: ``dL/dw = (g - mean(g)) / d - w^ * sum(g w^) / (m s)``
    (the centring removes the mean of the first term only: ``w^`` has none).
    """

    @staticmethod
    def forward(ctx, weight: Tensor, formula: WSFormula) -> Tensor:
        flat = weight.flatten(1)
        n = flat.shape[1]
        m = n - formula.ddof
        centred = flat - flat.sum(1, keepdim=True) / n
        spread = torch.linalg.vector_norm(centred, dim=1, keepdim=True) / m ** 0.5
        if formula.eps_var:
            spread = (spread * spread + formula.eps_var).sqrt_()
        inv_d = 1.0 / (spread + formula.eps_std)
        w_hat = centred.mul_(inv_d)
        ctx.save_for_backward(w_hat, spread, inv_d)
        ctx.m = m
        return w_hat.view_as(weight)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        w_hat, spread, inv_d = ctx.saved_tensors
        g = grad.flatten(1)
        n = g.shape[1]
        g_mean = g.sum(1, keepdim=True) / n
        coef = (g * w_hat).sum(1, keepdim=True) / (ctx.m * spread)
        grad_w = torch.addcmul(-g_mean * inv_d, g, inv_d).addcmul_(w_hat, coef, value=-1.0)
        return grad_w.view_as(grad), None


def standardise_weight(weight: Tensor, formula: str = "std") -> Tensor:
    """Each output filter minus its mean, divided by its spread under ``formula`` (a key of
    :data:`WS_FORMULAS`; default: unbiased standard deviation + 1e-5).

    Computed once per forward (the weights are small next to the activations), differentiable.
    """
    return _Standardise.apply(weight, WS_FORMULAS[formula])


class WSConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is standardised (see :func:`standardise_weight`) on every call;
    ``ws`` names the formula (the parameter itself is never standardised in place)."""

    def __init__(self, *args, ws: str = "std", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if ws not in WS_FORMULAS:
            raise ValueError(f"weight standardisation must be one of {', '.join(WS_FORMULAS)}, got {ws!r}")
        self.ws = ws

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, standardise_weight(self.weight, self.ws), self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


def fold_weight_standardisation(module: nn.Module) -> nn.Module:
    """An inference copy of ``module`` in which every :class:`WSConv2d` is a plain ``nn.Conv2d``
    holding its standardised weight (same bias, stride, padding, dilation, groups).

    Why: the standardisation depends on the weights only, so at inference it is the same
    tensor on every call; folding it once saves that work per forward and leaves an exported
    graph with ordinary convolutions. The folded weight is the very tensor
    :func:`standardise_weight` computes, so the copy's outputs equal the original's bit for bit.
    ``module`` itself is not changed."""
    folded = copy.deepcopy(module)
    for parent in list(folded.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, WSConv2d):
                parent._modules[name] = _plain_conv(child)
    return folded


def _plain_conv(ws_conv: WSConv2d) -> nn.Conv2d:
    conv = nn.Conv2d(ws_conv.in_channels, ws_conv.out_channels, ws_conv.kernel_size, ws_conv.stride,  # type: ignore[arg-type]
                     ws_conv.padding, ws_conv.dilation, ws_conv.groups, ws_conv.bias is not None,  # type: ignore[arg-type]
                     ws_conv.padding_mode, device=ws_conv.weight.device, dtype=ws_conv.weight.dtype)
    with torch.no_grad():
        conv.weight.copy_(standardise_weight(ws_conv.weight, ws_conv.ws))
        if ws_conv.bias is not None and conv.bias is not None:
            conv.bias.copy_(ws_conv.bias)
    return conv


def group_count(channels: int, groups: int = 32) -> int:
    """The largest divisor of ``channels`` not above ``groups`` that leaves >= 2 channels a group.

    The full networks have 64 or more channels everywhere, so this is 32 there; the narrow CPU
    variants (width 8) get as many groups as their channels allow instead of an error. Two
    channels a group keep GroupNorm defined on the 1x1 pyramid-pooling bin.
    """
    return max(g for g in range(1, max(1, min(groups, channels // 2)) + 1) if channels % g == 0)


def group_norm(channels: int, groups: int = 32) -> nn.GroupNorm:
    """GroupNorm over ``channels`` with :func:`group_count` groups (affine, eps 1e-5)."""
    return nn.GroupNorm(group_count(channels, groups), channels)
