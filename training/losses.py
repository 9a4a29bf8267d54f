"""Training losses, each a small pure function of tensors: FBA matting (thesis Table 4.2, Eq. 4.1)
and the soft-IoU + click loss of interactive segmentation (Eq. 3.1, reused as Eq. 5.1).

``L = L1_a + Lc_a + Llap_a + Lg_a + 0.25 (L1_FB + Llap_FB + Lexcl_FB + Lc_FB)``

Table 4.2 writes sums over pixels; here each term is a mean over the pixels of its region (and
over channels), so the balance between terms and the learning rate do not depend on crop size.

Regions (the thesis names them only in Table 4.4's caption, which says that L1_FB and Llap_FB
"are computed over the entire image as opposed to just the unknown region of the trimap" in the
models trained on the re-estimated foregrounds): every term is taken over the trimap's unknown
region, except L1_FB and Llap_FB, which cover the pixels where the F/B ground truth is valid when
the batch says so (``fb_valid``: the whole image for ``fg_full``/``bg_full`` samples).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

LAPLACIAN_LEVELS = 5
FB_WEIGHT = 0.25
_BINOMIAL5 = (1.0, 4.0, 6.0, 4.0, 1.0)


def masked_mean(err: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``err`` (BxCxHxW) over the pixels where ``mask`` (Bx1xHxW, weights) is set.

    The whole batch is pooled (one mean over every sample's region). An empty region gives 0
    rather than NaN: the denominator is at least one pixel.
    """
    if mask is None:
        return err.mean()
    return (err * mask).sum() / (mask.sum() * err.shape[1]).clamp_min(1.0)


def l1_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean absolute error over the region (L1_a, and each half of L1_FB)."""
    return masked_mean((pred - target).abs(), mask)


def composition_loss(alpha: Tensor, fg: Tensor, bg: Tensor, composite: Tensor,
                     mask: Tensor | None = None) -> Tensor:
    """``|C - alpha F - (1 - alpha) B|`` averaged over the region.

    Lc_a puts the predicted alpha with the true F, B here; Lc_FB the true alpha with the
    predicted F, B. ``composite`` must be the clean composite, not a noise-augmented input.
    """
    return masked_mean((composite - alpha * fg - (1 - alpha) * bg).abs(), mask)


def image_gradients(x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences along x and y, same shape as ``x``, zero in the last column/row."""
    dx = F.pad(x[..., :, 1:] - x[..., :, :-1], (0, 1, 0, 0))
    dy = F.pad(x[..., 1:, :] - x[..., :-1, :], (0, 0, 0, 1))
    return dx, dy


def gradient_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Lg: ``|d/dx pred - d/dx target| + |d/dy pred - d/dy target|`` averaged over the region."""
    pdx, pdy = image_gradients(pred)
    tdx, tdy = image_gradients(target)
    return masked_mean((pdx - tdx).abs() + (pdy - tdy).abs(), mask)


def exclusion_loss(fg: Tensor, bg: Tensor, mask: Tensor | None = None) -> Tensor:
    """Lexcl: ``|dF/dx| |dB/dx| + |dF/dy| |dB/dy|`` per channel, averaged over the region.

    Penalises image structure that appears in both layers. Table 4.2 writes a product of
    per-pixel gradient norms; the per-channel, per-direction product used here is the form the
    thesis author confirmed for the published model (FBA_Matting issue 13). It is a loss on the
    *predicted* F and B (the table's symbols lack hats; the ground truth has no parameters).
    """
    fdx, fdy = image_gradients(fg)
    bdx, bdy = image_gradients(bg)
    return masked_mean(fdx.abs() * bdx.abs() + fdy.abs() * bdy.abs(), mask)


def _blur(x: Tensor) -> Tensor:
    """Separable 5-tap binomial (Burt-Adelson) blur per channel, edges replicated."""
    k = torch.tensor(_BINOMIAL5, dtype=x.dtype, device=x.device) / 16.0
    c = x.shape[1]
    x = F.pad(x, (2, 2, 2, 2), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def laplacian_pyramid(x: Tensor, levels: int = LAPLACIAN_LEVELS) -> list[Tensor]:
    """The ``levels`` band-pass images, finest first (the low-pass residual is not returned).

    Level s: ``G_s - up(down(G_s))`` with ``down`` = blur then every second pixel and ``up`` =
    bilinear resize back to ``G_s``'s size (so a constant image has all-zero bands, at the edges
    too); ``G_1 = x``, ``G_{s+1} = down(G_s)``. Any size works (odd sizes round up).
    """
    bands = []
    current = x
    for _ in range(levels):
        down = _blur(current)[..., ::2, ::2]
        up = F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False)
        bands.append(current - up)
        current = down
    return bands


def laplacian_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None,
                   levels: int = LAPLACIAN_LEVELS) -> Tensor:
    """Llap: ``sum_s 2^(s-1) mean |L_s(pred) - L_s(target)|`` over the region at each level.

    The pyramid is linear, so it is built once, on ``pred - target``. The region shrinks with
    the pyramid by 2x2 max-pooling: a coarse pixel counts when any pixel under it is in the
    region (the published loss was masked, FBA_Matting issue 12, but how is not stated).
    """
    total = pred.new_zeros(())
    for s, band in enumerate(laplacian_pyramid(pred - target, levels)):
        total = total + 2.0 ** s * masked_mean(band.abs(), mask)
        if mask is not None:
            mask = F.max_pool2d(mask, 2, ceil_mode=True)
    return total


def _fb_region(fb_valid, unknown: Tensor) -> Tensor:
    """Where L1_FB and Llap_FB apply: see the module notes on ``fb_valid``."""
    if fb_valid is None:
        return unknown
    if isinstance(fb_valid, bool):
        return torch.ones_like(unknown) if fb_valid else unknown
    fb_valid = torch.as_tensor(fb_valid, device=unknown.device)
    if fb_valid.ndim == 1 and fb_valid.shape[0] == unknown.shape[0]:
        return torch.where(fb_valid.bool().view(-1, 1, 1, 1), torch.ones_like(unknown), unknown)
    if fb_valid.shape == unknown.shape:
        return fb_valid.to(unknown.dtype)
    raise ValueError(f"fb_valid must be a bool, one bool per sample or a Bx1xHxW mask, "
                     f"got shape {tuple(fb_valid.shape)}")


def fba_loss(out: Tensor, batch: dict, fb_weight: float = FB_WEIGHT) -> tuple[Tensor, dict[str, float]]:
    """Eq. 4.1 on the network output ``out`` (Bx7xHxW: alpha, F, B) against ``batch``.

    ``batch``: ``alpha`` Bx1xHxW, ``fg``/``bg``/``composite`` Bx3xHxW (the clean composite),
    ``trimap2`` Bx2xHxW (FG, BG masks), optional ``fb_valid`` (bool, per-sample bools or a
    Bx1xHxW mask). Computed in float32 even under autocast: pyramid differences of small
    errors lose too much in bf16. Returns the total and each term as a float (one sync).
    """
    with torch.autocast(device_type=out.device.type, enabled=False):
        out = out.float()
        alpha_p, fg_p, bg_p = out[:, :1], out[:, 1:4], out[:, 4:7]
        alpha, fg, bg, comp = (batch[k].float() for k in ("alpha", "fg", "bg", "composite"))
        trimap2 = batch["trimap2"].float()
        unknown = (1.0 - trimap2[:, :1] - trimap2[:, 1:2]).clamp(0.0, 1.0)
        fb_region = _fb_region(batch.get("fb_valid"), unknown)
        terms = {
            "alpha_l1": l1_loss(alpha_p, alpha, unknown),
            "alpha_comp": composition_loss(alpha_p, fg, bg, comp, unknown),
            "alpha_lap": laplacian_loss(alpha_p, alpha, unknown),
            "alpha_grad": gradient_loss(alpha_p, alpha, unknown),
            "fb_l1": l1_loss(fg_p, fg, fb_region) + l1_loss(bg_p, bg, fb_region),
            "fb_lap": laplacian_loss(fg_p, fg, fb_region) + laplacian_loss(bg_p, bg, fb_region),
            "fb_excl": exclusion_loss(fg_p, bg_p, unknown),
            "fb_comp": composition_loss(alpha, fg_p, bg_p, comp, unknown),
        }
        total = torch.stack([v for k, v in terms.items() if k.startswith("alpha_")]).sum() \
            + fb_weight * torch.stack([v for k, v in terms.items() if k.startswith("fb_")]).sum()
        values = torch.stack([total.detach(), *(v.detach() for v in terms.values())]).tolist()
    return total, dict(zip(["total", *terms], values, strict=True))


def soft_iou_click_loss(pred: Tensor, mask: Tensor, valid: Tensor,
                        clicks: Sequence[Sequence[tuple[int, int, bool]]]) -> Tensor:
    """Eq. 3.1 (and Eq. 5.1) per sample, averaged over the batch.

    ``1 - sum(a m) / sum(max(a, m))`` over the valid pixels, plus ``sum_c (a_c - l_c)^2`` over
    the sample's clicks ``(y, x, is_positive)`` (label 1 positive, 0 negative; a pixel clicked
    twice counts twice, as the sum over clicks says). ``pred``, ``mask``, ``valid``: Bx1xHxW;
    ``valid`` 0 on ignored pixels (GrabCut-style bands), which then count in neither sum of the
    IoU. A per-sample mean, so N DDP ranks at batch b make the gradient of one rank at N x b.
    In float32 even under autocast: a ratio of two large sums loses too much in bf16.
    """
    with torch.autocast(device_type=pred.device.type, enabled=False):
        pred, mask, valid = pred.float(), mask.float(), valid.float()
        inter = (pred * mask * valid).flatten(1).sum(1)
        union = (torch.maximum(pred, mask) * valid).flatten(1).sum(1).clamp_min(1e-6)
        at_clicks = []
        for b, sample in enumerate(clicks):
            if not sample:
                at_clicks.append(pred.new_zeros(()))
                continue
            ys, xs, labels = (torch.tensor(v, device=pred.device) for v in zip(*sample, strict=True))
            at_clicks.append(((pred[b, 0, ys, xs] - labels.float()) ** 2).sum())
        return (1.0 - inter / union + torch.stack(at_clicks)).mean()
