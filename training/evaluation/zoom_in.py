"""RITM's ZoomIn protocol as pure steps: predict on a crop around the current object, paste back.

Reference: ``SamsungLabs/ritm_interactive_segmentation`` ``isegm/inference/transforms/zoom_in.py``
and ``isegm/utils/misc.py`` (SimpleClick and FocalClick evaluate with the same class). Its
"cvpr" evaluation mode (``scripts/evaluate_model.py``) uses the defaults of
:class:`ZoomInSettings`, with ``target_size`` 600 for DAVIS. Per click k, with the clicks so far:

1. k ≤ ``skip_clicks``: the whole image (the first click always sees everything).
2. Otherwise take the previous prediction ``prob > prob_thresh`` with every positive click's
   pixel set; empty: the whole image. Its bounding box, centre kept, grows to
   ``max(expansion_ratio · side, min_crop_size)`` per side, corners rounded with Python's
   ``round`` (halves to even), then clamped to the image: the *current* box.
3. The box in use is replaced by the current one when there is none yet, when a positive click
   lies outside it (the reference tests ``coord >= max`` as outside, so a click on the box's
   last row or column counts as outside too), or when the two boxes' IoU (per axis, product)
   is below ``recompute_thresh_iou``; otherwise it is kept, so the crop does not jitter.
4. The image (and the previous mask, which a mask-guided model receives with it) is cropped to
   the box and resized bilinearly (corners aligned, as ``align_corners=True``) so its longer side
   is ``target_size``; clicks map to ``crop_side · (coord − min) / box_side``.
5. The model's answer is resized back to the box the same way and pasted into zeros: outside
   the box the probability is 0.

Departures, each because this toolkit's model contract differs from RITM's network interface:
crop clicks are rounded to integer pixels and negative clicks that fall outside the crop are
dropped (a disk-encoded click outside the crop shows nothing to RITM's network either); the crop
is rounded back to the image's integer dtype; and when the prediction becomes empty after a box
was set, the whole image is predicted (RITM then pastes a whole-image answer into the stale box).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from training.clicks import Click

Box = tuple[int, int, int, int]   # rmin, rmax, cmin, cmax, all inclusive (RITM's order)


@dataclass(frozen=True)
class ZoomInSettings:
    """RITM's ZoomIn defaults ("cvpr" mode; ``target_size`` 600 for DAVIS there)."""

    target_size: int = 400            # longer side of the crop given to the model
    skip_clicks: int = 1              # clicks predicted on the whole image before zooming
    expansion_ratio: float = 1.4
    min_crop_size: int = 200          # box side before clamping to the image
    recompute_thresh_iou: float = 0.5
    prob_thresh: float = 0.5          # the previous prediction's object: prob > this

    def __post_init__(self) -> None:
        # skip_clicks 0 would make RITM re-predict the first click on a crop
        # (check_possible_recalculation) and negative values select its fixed-crop mode: neither is built.
        if self.target_size < 1 or self.skip_clicks < 1 or self.expansion_ratio <= 0 or self.min_crop_size < 0:
            raise ValueError(f"invalid zoom-in settings {self} (target_size >= 1, skip_clicks >= 1, "
                             "expansion_ratio > 0, min_crop_size >= 0)")

    def as_dict(self) -> dict:
        """What a report records under its settings."""
        return {"protocol": "RITM ZoomIn", **asdict(self)}


def bbox_of(mask: np.ndarray) -> Box:
    """Tight inclusive box of a non-empty boolean mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        raise ValueError("bbox_of: empty mask")
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def expand_box(box: Box, ratio: float, min_size: float) -> Box:
    """Grow each side to max(ratio · side, min_size) around the box centre; corners rounded half to even."""
    rmin, rmax, cmin, cmax = box
    rc, cc = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    height = max(ratio * (rmax - rmin + 1), min_size)
    width = max(ratio * (cmax - cmin + 1), min_size)
    return (int(round(rc - 0.5 * height)), int(round(rc + 0.5 * height)),
            int(round(cc - 0.5 * width)), int(round(cc + 0.5 * width)))


def clamp_box(box: Box, shape: tuple[int, ...]) -> Box:
    h, w = shape[:2]
    return max(0, box[0]), min(h - 1, box[1]), max(0, box[2]), min(w - 1, box[3])


def box_iou(a: Box, b: Box) -> float:
    """RITM's box IoU: the product of the row and column interval IoUs (inclusive ends)."""
    def interval(s: tuple[int, int], t: tuple[int, int]) -> float:
        inter = max(0, min(s[1], t[1]) - max(s[0], t[0]) + 1)
        return inter / max(1e-6, max(s[1], t[1]) - min(s[0], t[0]) + 1)
    return interval(a[:2], b[:2]) * interval(a[2:], b[2:])


def object_roi(pred_mask: np.ndarray, clicks: Sequence[Click], settings: ZoomInSettings) -> Box | None:
    """Step 2: the current box around the predicted object and the positive clicks; None if nothing is predicted."""
    if not pred_mask.any():
        return None
    mask = np.array(pred_mask, dtype=bool)
    for y, x, positive in clicks:
        if positive:
            mask[y, x] = True
    box = expand_box(bbox_of(mask), settings.expansion_ratio, settings.min_crop_size)
    return clamp_box(box, mask.shape)


def keeps_positive_clicks(box: Box, clicks: Sequence[Click]) -> bool:
    """RITM's ``check_object_roi``: every positive click strictly before the box's last row and column."""
    return all(box[0] <= y < box[1] and box[2] <= x < box[3] for y, x, positive in clicks if positive)


def choose_roi(current: Box, previous: Box | None, clicks: Sequence[Click], settings: ZoomInSettings) -> Box:
    """Step 3: keep the box in use unless it is missing, lost a positive click or moved too much."""
    if previous is None or not keeps_positive_clicks(previous, clicks):
        return current
    return current if box_iou(current, previous) < settings.recompute_thresh_iou else previous


def crop_shape(box: Box, target_size: int) -> tuple[int, int]:
    """Crop size after resizing: the box scaled so its longer side is ``target_size`` (rounded half to even)."""
    height, width = box[1] - box[0] + 1, box[3] - box[2] + 1
    scale = target_size / max(height, width)
    return int(round(height * scale)), int(round(width * scale))


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of corner-aligned linear interpolation along one axis."""
    pos = np.arange(n_out) * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    lo = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, pos - lo


def resize_bilinear(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with the corner pixels aligned (torch ``interpolate(..., align_corners=True)``), float64."""
    a = np.asarray(array, dtype=np.float64)
    r0, r1, wr = _axis(a.shape[0], shape[0])
    c0, c1, wc = _axis(a.shape[1], shape[1])
    wr = wr.reshape((-1, 1) + (1,) * (a.ndim - 2))
    wc = wc.reshape((1, -1) + (1,) * (a.ndim - 2))
    top = a[r0][:, c0] * (1 - wc) + a[r0][:, c1] * wc
    bottom = a[r1][:, c0] * (1 - wc) + a[r1][:, c1] * wc
    return top * (1 - wr) + bottom * wr


def crop_resized(array: np.ndarray, box: Box, shape: tuple[int, int]) -> np.ndarray:
    """``array[box]`` resized to ``shape``; integer images are rounded back to their dtype."""
    out = resize_bilinear(array[box[0]:box[1] + 1, box[2]:box[3] + 1], shape)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(array.dtype)
    return out.astype(array.dtype)


def to_crop_clicks(clicks: Sequence[Click], box: Box, shape: tuple[int, int]) -> list[Click]:
    """Clicks inside the box in crop pixels, ``side · (coord − min) / box side`` rounded (and kept
    inside the crop); clicks outside the box are dropped."""
    height, width = box[1] - box[0] + 1, box[3] - box[2] + 1
    out = []
    for y, x, positive in clicks:
        if box[0] <= y <= box[1] and box[2] <= x <= box[3]:
            cy = min(int(round(shape[0] * (y - box[0]) / height)), shape[0] - 1)
            cx = min(int(round(shape[1] * (x - box[2]) / width)), shape[1] - 1)
            out.append((cy, cx, positive))
    return out


def paste_back(prob_crop: np.ndarray, box: Box, image_shape: tuple[int, ...]) -> np.ndarray:
    """Step 5: the crop's answer resized to the box and pasted into zeros of the image size (float32)."""
    full = np.zeros(image_shape[:2], np.float32)
    size = (box[1] - box[0] + 1, box[3] - box[2] + 1)
    full[box[0]:box[1] + 1, box[2]:box[3] + 1] = resize_bilinear(prob_crop, size)
    return full


@dataclass(frozen=True)
class ZoomStep:
    """One click's zoom: the box predicted on (None: the whole image), the crop size, and the box
    in use afterwards, which the caller hands to the next click."""

    used: Box | None
    crop: tuple[int, int] | None
    kept: Box | None


Predict = Callable[[np.ndarray, list[Click], np.ndarray], np.ndarray]


def zoom_in_predict(predict: Predict, image: np.ndarray, clicks: Sequence[Click], prev_prob: np.ndarray,
                    box_in_use: Box | None, settings: ZoomInSettings) -> tuple[np.ndarray, ZoomStep]:
    """One click of the ZoomIn protocol around ``predict(image, clicks, prev_mask) -> HxW probability``.

    ``prev_prob`` is the previous full-image probability (zeros before the first click) and
    ``box_in_use`` the previous step's ``kept`` (None at the start of a sample). Returns the
    full-image probability (float32; 0 outside the box) and the step.
    """
    clicks = list(clicks)
    current = None
    if len(clicks) > settings.skip_clicks:
        current = object_roi(np.asarray(prev_prob) > settings.prob_thresh, clicks, settings)
    if current is None:
        return np.asarray(predict(image, clicks, prev_prob), np.float32), ZoomStep(None, None, box_in_use)
    box = choose_roi(current, box_in_use, clicks, settings)
    shape = crop_shape(box, settings.target_size)
    crop_prob = predict(crop_resized(image, box, shape), to_crop_clicks(clicks, box, shape),
                        crop_resized(np.asarray(prev_prob, np.float32), box, shape))
    crop_prob = np.asarray(crop_prob, np.float32)
    if crop_prob.shape != shape:
        raise ValueError(f"the model answered a {shape[1]}x{shape[0]} crop with shape {crop_prob.shape}")
    return paste_back(crop_prob, box, image.shape), ZoomStep(box, shape, box)
