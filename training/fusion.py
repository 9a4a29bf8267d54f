"""F, B, alpha fusion (thesis Ch. 4.3.4, Eq. 4.3-4.5): make the three predictions agree.

The network predicts alpha, F and B independently, so ``C = alpha F + (1 - alpha) B`` is not
enforced. One block-coordinate step of the maximum-likelihood problem

    (a - a^)^2 / var_alpha + |F - F^|^2 / var_fb + |B - B^|^2 / var_fb + |C - aF - (1-a)B|^2 / var_c

moves F and B along the reconstruction residual (Eq. 4.3, 4.4), then sets alpha to the exact
minimiser for the new F, B (Eq. 4.5). The thesis values are *variances*: sigma_C^2 = sigma_F^2 =
sigma_B^2 = 1 and sigma_alpha^2 = 10 ("show that ... with sigma^2_C, sigma^2_F, sigma^2_B = 1,
sigma^2_alpha = 10"); one iteration "was enough". Results are clipped to [0, 1], the range the
network's own outputs live in (the equations themselves can step slightly outside).

The published FBA code (its forward, lambda = 0.1 = sigma_C^2 / sigma_alpha^2, the same alpha
step) updates B from the *already updated*, not yet clipped F instead of the network's F;
``b_from_new_f=True`` computes that variant, which the published network's function needs.
"""

from __future__ import annotations

from torch import Tensor

VAR_C = 1.0
VAR_FB = 1.0
VAR_ALPHA = 10.0


def fuse_fba(image: Tensor, alpha: Tensor, fg: Tensor, bg: Tensor, *, var_c: float = VAR_C,
             var_fb: float = VAR_FB, var_alpha: float = VAR_ALPHA,
             b_from_new_f: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """One fusion iteration; ``image``/``fg``/``bg`` Bx3xHxW, ``alpha`` Bx1xHxW, all in [0, 1].

    Returns ``(alpha, fg, bg)``. An exact triple (``image == alpha fg + (1 - alpha) bg``) comes
    back unchanged; otherwise the reconstruction residual shrinks. ``b_from_new_f``: the published
    code's order (see the module notes).
    """
    residual = image - alpha * fg - (1 - alpha) * bg
    step = var_fb / var_c
    new_fg = fg + step * alpha * residual
    if b_from_new_f:
        residual = image - alpha * new_fg - (1 - alpha) * bg
    bg = (bg + step * (1 - alpha) * residual).clamp(0, 1)
    fg = new_fg.clamp(0, 1)
    ratio = var_alpha / var_c
    diff = fg - bg
    num = alpha + ratio * ((image - bg) * diff).sum(1, keepdim=True)
    den = 1 + ratio * (diff * diff).sum(1, keepdim=True)
    return (num / den).clamp(0, 1), fg, bg
