"""One sample through one protocol: the click-by-click loop (§B.3), trimap matting (§A.6) and
interactive matting (§B.7).

Each loop asks a robot (:mod:`training.clicks.robots`) for the next click, calls the model's
contract method (:mod:`training.evaluation.contracts`), converts and scores its answer, and
returns a JSON-ready record. Nothing here knows about datasets, processes or reports, so the
same loops serve a benchmark run, a test with an oracle model and a training-time check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from datagen.compose.convert import alpha_to_uint8, quantize_alpha, to_probability
from training.clicks import MASK_THRESHOLD, NO_ERROR, Click, clicks_json
from training.clicks.robots import next_click_largest_region, next_click_matting, next_click_ritm
from training.evaluation.contracts import ImattingModel, IsegModel, MattingModel
from training.evaluation.initial_masks import InitialMaskFolder, corrupt_mask, sample_seed
from training.evaluation.metrics import (
    boundary_iou,
    gt_from_benchmark,
    iou,
    mad,
    mask_by_trimap,
    matting_errors,
    whole_image_errors,
)
from training.evaluation.noc import NOC_LEVELS, chosen_region, corrective_accuracy, noc_per_image
from training.evaluation.zoom_in import Box, ZoomInSettings, zoom_in_predict

ROBOTS = {"R": next_click_ritm, "L": next_click_largest_region}
NOC_THRESHOLDS = NOC_LEVELS
"""IoU targets of the NoC columns; a record gets ``noc<N>`` per target (the aggregate's ``noc_summary`` uses the same)."""
CORRUPTED = "corrupted"
"""``--initial-masks`` value that corrupts each ground truth (:func:`~training.evaluation.initial_masks.corrupt_mask`)
instead of reading a folder."""
RITM_THRESHOLD = 0.49
"""Protocol R thresholds ``prob > 0.49`` (RITM's evaluation code); protocol L uses the network's
``prob >= MASK_THRESHOLD`` (:data:`training.clicks.MASK_THRESHOLD`)."""


@dataclass(frozen=True)
class IsegConfig:
    """Protocol R: RITM clicker, prob > 0.49. Protocol L: thesis robot, prob ≥ 0.5 (its code's rule).

    ``target``: stop an image early once IoU ≥ target (NoC-only runs); ``None`` runs every
    click, which the per-click curves (mIoU@k, AuC, shares) need. ``zoom_in``: RITM's ZoomIn
    around the model (None: whole image every click). ``initial_masks``: mask correction, each
    sample starting from ``"corrupted"`` ground truth (seeded by ``seed`` and the sample id) or
    from the masks of a folder (None: from an empty mask).
    """

    robot: str = "R"
    max_clicks: int = 20
    target: float | None = None
    zoom_in: ZoomInSettings | None = None
    initial_masks: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.robot not in ROBOTS:
            raise ValueError(f"unknown robot {self.robot!r}; use R or L")

    def binarize(self, prob: np.ndarray) -> np.ndarray:
        return prob > RITM_THRESHOLD if self.robot == "R" else prob >= MASK_THRESHOLD

    @property
    def threshold_rule(self) -> str:
        return f"prob > {RITM_THRESHOLD}" if self.robot == "R" else f"prob >= {MASK_THRESHOLD}"


@dataclass(frozen=True)
class ImattingConfig:
    """Interactive matting: clicks per image (the matting robot, whole-image metrics)."""

    max_clicks: int = 20


def config_dict(config: IsegConfig) -> dict:
    """The settings a report records for an iseg run, the threshold rule spelled out; the zoom-in
    and initial-mask keys only when used, so a plain run's settings read as before."""
    out = {**asdict(config), "threshold_rule": config.threshold_rule}
    for key in ("zoom_in", "initial_masks", "seed"):
        del out[key]
    if config.zoom_in is not None:
        out["zoom_in"] = config.zoom_in.as_dict()
    if config.initial_masks is not None:
        out["initial_masks"] = config.initial_masks
        if config.initial_masks == CORRUPTED:
            out["initial_mask_seed"] = config.seed
    return out


def imatting_settings(config: ImattingConfig) -> dict:
    """The settings a report records for an interactive matting run."""
    return {"max_clicks": config.max_clicks, "robot": "matting (spec B.6)", "region": "whole image",
            "scoring": "whole image"}


def matting_settings(config: None) -> dict:
    """The settings a report records for a trimap matting run (it has no options)."""
    return {"quantisation": "round to nearest", "masked_by_trimap": True}


def _check_output(name: str, out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.asarray(out)
    if out.shape != shape[:2]:
        raise ValueError(f"model {name} returned shape {out.shape}, expected {shape[:2]}")
    return out


def run_iseg_sample(model: IsegModel, image: np.ndarray, gt: np.ndarray, config: IsegConfig,
                    initial_mask: np.ndarray | None = None) -> dict:
    """Click-by-click loop of §B.3 for one image; gt is int {−1, 0, 1}.

    ``initial_mask`` (HxW bool, mask correction) is the first previous mask instead of zeros;
    the robot clicks on its errors and the record keeps its IoU (``initial_iou``). With
    ``config.zoom_in`` each click goes through :func:`zoom_in_predict`; ``model_seconds`` times
    the model call (with the zoom's crop and paste, which are part of the method).
    """
    robot = ROBOTS[config.robot]
    h, w = gt.shape

    def predict(im: np.ndarray, cl: list[Click], prev: np.ndarray) -> np.ndarray:
        return to_probability(_check_output("predict_iseg", model.predict_iseg(im, cl, prev), im.shape))

    prob = np.zeros((h, w), np.float32) if initial_mask is None else np.asarray(initial_mask, np.float32)
    pred = config.binarize(prob)
    box: Box | None = None
    clicks: list[Click] = []
    ious, boundary_ious, corrective, seconds = [], [], [], 0.0
    for _ in range(config.max_clicks):
        click = robot(gt, pred, clicks)
        if click == NO_ERROR:                 # protocol L's reference loop clicks (H−1, W−1), negative
            click = (h - 1, w - 1, False)
        region = chosen_region(gt, pred, click)
        clicks.append(click)
        t0 = time.perf_counter()
        if config.zoom_in is None:
            prob = predict(image, list(clicks), prob)
        else:
            prob, step = zoom_in_predict(predict, image, clicks, prob, box, config.zoom_in)
            box = step.kept
        seconds += time.perf_counter() - t0
        pred = config.binarize(prob)
        ious.append(iou(gt, pred))
        boundary_ious.append(boundary_iou(gt, pred))
        corrective.append(corrective_accuracy(gt, region, pred))
        if config.target is not None and ious[-1] >= config.target:
            break
    record = {"ious": ious, "boundary_ious": boundary_ious, "clicks": clicks_json(clicks), "corrective": corrective,
              "model_seconds": seconds}
    if initial_mask is not None:
        record["initial_iou"] = iou(gt, np.asarray(initial_mask, bool))
    for thr in NOC_THRESHOLDS:
        record[f"noc{round(thr * 100)}"] = noc_per_image(ious, thr, config.max_clicks)
    return record


def run_matting_sample(model: MattingModel, image: np.ndarray, alpha: np.ndarray, trimap: np.ndarray) -> dict:
    """Composition-1k style: quantise, mask by the trimap, then the four metrics over trimap == 128."""
    t0 = time.perf_counter()
    out = _check_output("predict_matting", model.predict_matting(image, trimap), alpha.shape)
    seconds = time.perf_counter() - t0
    pred, gt = mask_by_trimap(quantize_alpha(out), trimap), alpha_to_uint8(alpha)
    return {**matting_errors(pred, gt, trimap), "mad": mad(pred, gt, trimap),
            "unknown_pixels": int((trimap == 128).sum()), "model_seconds": seconds}


def run_imatting_sample(model: ImattingModel, image: np.ndarray, alpha: np.ndarray, max_clicks: int = 20) -> dict:
    """Interactive Composition-100 loop (§B.7): matting robot click, predict, whole-image metrics."""
    gt = alpha_to_uint8(alpha)
    h, w = gt.shape
    pred = np.zeros((h, w), np.uint8)
    clicks: list[Click] = []
    per_click: dict[str, list[float]] = {}
    seconds = 0.0
    for _ in range(max_clicks):
        click = next_click_matting(gt, pred, clicks)
        if click == NO_ERROR:                 # perfect matte: same explicit mapping as protocol L
            click = (h - 1, w - 1, False)
        clicks.append(click)
        t0 = time.perf_counter()
        out = _check_output("predict_imatting", model.predict_imatting(image, list(clicks), pred.astype(np.float32) / 255), gt.shape)
        seconds += time.perf_counter() - t0
        pred = quantize_alpha(out)
        for name, value in {**whole_image_errors(pred, gt), "mad": mad(pred, gt, None)}.items():
            per_click.setdefault(name, []).append(value)
    return {"per_click": per_click, "clicks": clicks_json(clicks), "model_seconds": seconds}


def _fields(sample: Mapping[str, np.ndarray], names: tuple[str, ...], message: str) -> None:
    if any(name not in sample for name in names):
        raise ValueError(message)


def iseg_sample(model: IsegModel, sample: Mapping[str, np.ndarray], config: IsegConfig) -> dict:
    """A benchmark sample (mask, optional ignore band) through :func:`run_iseg_sample`, from its
    initial mask when ``config.initial_masks`` asks for one."""
    _fields(sample, ("mask",), "benchmark sample has no mask")
    gt = gt_from_benchmark(sample["mask"], sample.get("ignore"))
    return run_iseg_sample(model, sample["image"], gt, config, initial_mask(sample, gt, config))


def initial_mask(sample: Mapping[str, np.ndarray], gt: np.ndarray, config: IsegConfig) -> np.ndarray | None:
    """The sample's initial mask for mask correction: corrupted from ``gt == 1`` with the sample's
    own seed, or read from the folder by sample id; None without ``config.initial_masks``."""
    if config.initial_masks is None:
        return None
    sample_id = str(sample["id"])
    if config.initial_masks == CORRUPTED:
        return corrupt_mask(sample["image"], gt == 1, sample_seed(config.seed, sample_id))[0]
    return InitialMaskFolder(config.initial_masks).read(sample_id, gt.shape)


def matting_sample(model: MattingModel, sample: Mapping[str, np.ndarray], config: None) -> dict:
    """A benchmark sample (alpha, trimap) through :func:`run_matting_sample`."""
    _fields(sample, ("alpha", "trimap"), "matting protocol needs alpha and trimap")
    return run_matting_sample(model, sample["image"], sample["alpha"], sample["trimap"])


def imatting_sample(model: ImattingModel, sample: Mapping[str, np.ndarray], config: ImattingConfig) -> dict:
    """A benchmark sample (alpha) through :func:`run_imatting_sample`."""
    _fields(sample, ("alpha",), "interactive matting protocol needs alpha")
    return run_imatting_sample(model, sample["image"], sample["alpha"], config.max_clicks)
