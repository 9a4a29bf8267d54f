"""One-warp object placement checked on cases with a known answer."""

import numpy as np
import pytest

from datagen.compose.placement import Placement, scale_for_area, to_uint8, warp_object


def _object(h=21, w=31, seed=0):
    rng = np.random.default_rng(seed)
    fg = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    alpha = rng.integers(1, 256, (h, w), dtype=np.uint8)
    return fg, alpha


def _paste(patch, size):
    fg = np.zeros((size, size, 3), np.uint8)
    a = np.zeros((size, size), np.uint8)
    fg[patch.y:patch.y + patch.alpha.shape[0], patch.x:patch.x + patch.alpha.shape[1]] = patch.fg
    a[patch.y:patch.y + patch.alpha.shape[0], patch.x:patch.x + patch.alpha.shape[1]] = patch.alpha
    return fg, a


@pytest.mark.parametrize("flip,angle,ref", [
    (False, 0.0, lambda x: x),
    (True, 0.0, lambda x: x[:, ::-1]),
    (False, 90.0, lambda x: np.rot90(x, 1)),
    (True, 180.0, lambda x: x[::-1]),
])
def test_unit_scale_moves_pixels_exactly(flip, angle, ref):
    fg, alpha = _object()
    h, w = ref(alpha).shape
    # Centre the box at an integer-aligned canvas position: pixels land on pixels.
    place = Placement(cx=10 + (w - 1) / 2, cy=7 + (h - 1) / 2, scale=1.0, angle=angle, flip=flip)
    cfg, ca = _paste(warp_object(fg, alpha, place, 64), 64)
    assert np.array_equal(ca[7:7 + h, 10:10 + w], ref(alpha))
    assert np.array_equal(cfg[7:7 + h, 10:10 + w], ref(fg))
    assert ca.sum() == alpha.astype(int).sum()


def test_shrink_preserves_alpha_mass_and_centre():
    yy, xx = np.mgrid[:200, :300]
    disc = (((yy - 100) / 80.0) ** 2 + ((xx - 150) / 120.0) ** 2 <= 1).astype(np.uint8) * 255
    fg = np.full((200, 300, 3), 200, np.uint8)
    place = Placement(cx=40.0, cy=50.0, scale=0.2, angle=30.0, flip=False)
    _, a = _paste(warp_object(fg, disc, place, 96), 96)
    mass = a.astype(float).sum() / 255
    assert abs(mass - disc.astype(float).sum() / 255 * 0.04) / mass < 0.03
    cy, cx = (np.argwhere(a > 0) * a[a > 0][:, None]).sum(0) / a[a > 0].sum()
    assert abs(cx - 40) < 0.6 and abs(cy - 50) < 0.6
    assert scale_for_area(160, 240, 96, 0.25) == pytest.approx(np.sqrt(0.25 * 96 * 96 / (160 * 240)))


def test_window_equals_full_canvas_and_border_cuts():
    fg, alpha = _object(40, 40, 3)
    place = Placement(cx=2.0, cy=60.0, scale=1.3, angle=17.0, flip=True)  # cut by two borders
    win = _paste(warp_object(fg, alpha, place, 64), 64)
    full = warp_object(fg, alpha, place, 64, full=True)
    assert (full.y, full.x, full.alpha.shape) == (0, 0, (64, 64))
    # Same matrix, different output origin: cv2's 1/32-pixel fixed-point taps may differ by one level.
    assert np.abs(win[1].astype(int) - full.alpha).max() <= 1
    assert (win[1] > 0).sum() > 200 and ((full.alpha > 1) <= (win[1] > 0)).all()  # window misses nothing
    inside = (full.alpha > 0) & (win[1] > 0)
    assert np.abs(win[0][inside].astype(int) - full.fg[inside]).max() <= 1
    off = warp_object(fg, alpha, Placement(cx=500.0, cy=500.0, scale=1.0, angle=0.0, flip=False), 64)
    assert off.alpha.size == 0


def test_full_foreground_prevents_colour_spill():
    """Colour valid only under alpha (black elsewhere) bleeds dark into a shrunk edge; fg_full does not."""
    yy, xx = np.mgrid[:120, :120]
    alpha = ((yy - 60) ** 2 + (xx - 60) ** 2 <= 40 ** 2).astype(np.uint8) * 255
    red_full = np.zeros((120, 120, 3), np.uint16)
    red_full[..., 0] = 65535
    red_cut = np.where(alpha[..., None] > 0, np.array([255, 0, 0], np.uint8), 0).astype(np.uint8)
    place = Placement(cx=30.3, cy=30.7, scale=0.37, angle=11.0, flip=False)
    good = warp_object(red_full, alpha, place, 64)
    bad = warp_object(red_cut, alpha, place, 64)
    edge = good.alpha > 0
    assert (good.fg[edge] == [255, 0, 0]).all()
    assert bad.fg[bad.alpha > 0][:, 0].min() < 200


def test_to_uint8_rounds_uint16_exactly():
    x = np.arange(65536, dtype=np.uint16)
    assert np.array_equal(to_uint8(x), np.floor(x / 257.0 + 0.5).astype(np.uint8))
    with pytest.raises(ValueError):
        warp_object(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8),
                    Placement(1.0, 1.0, 1.0, 0.0, False), 8)
