"""Evaluation protocols: click-by-click segmentation (§B.3), trimap matting (§A.6) and
interactive matting (§B.7), per sample and over a benchmark dataset.

A *model* is any object with the method its protocol calls (trained torch models from the
training issues implement the same methods):

* ``predict_iseg(image, clicks, prev_mask) -> HxW float probability``: ``image`` HxWx3
  uint8/uint16, ``clicks`` a list of ``(y, x, is_positive)`` in click order, ``prev_mask``
  the previous probability (all zero before the first click).
* ``predict_matting(image, trimap) -> HxW alpha`` (float in [0,1] or uint8).
* ``predict_imatting(image, clicks, prev_alpha) -> HxW alpha`` (float in [0,1] or uint8).

Models are pickled to the runner's workers, so keep them picklable (load weights lazily).
"""

from __future__ import annotations

import fnmatch
import functools
import time
from dataclasses import asdict, dataclass

import numpy as np

from datagen.compose.convert import alpha_to_uint8, quantize_alpha, to_probability
from training.evaluation.metrics import (
    gt_from_benchmark,
    iou,
    mask_by_trimap,
    matting_errors,
    whole_image_errors,
)
from training.evaluation.noc import (
    chosen_region,
    corrective_accuracy,
    failures,
    miou_per_click,
    nanmean_per_click,
    noc,
    noc_at_max,
    noc_per_image,
    share_table,
)
from training.evaluation.robots import (
    NO_ERROR,
    Click,
    next_click_largest_region,
    next_click_matting,
    next_click_ritm,
)

ROBOTS = {"R": next_click_ritm, "L": next_click_largest_region}
NOC_THRESHOLDS = (0.80, 0.85, 0.90)


@dataclass(frozen=True)
class IsegConfig:
    """Protocol R: RITM clicker, prob > 0.49. Protocol L: thesis robot, prob ≥ 0.5 (its code's rule).

    ``target``: stop an image early once IoU ≥ target (NoC-only runs); ``None`` runs every
    click, which the per-click curves (mIoU@k, AuC, shares) need.
    """

    robot: str = "R"
    max_clicks: int = 20
    target: float | None = None

    def __post_init__(self) -> None:
        if self.robot not in ROBOTS:
            raise ValueError(f"unknown robot {self.robot!r}; use R or L")

    def binarize(self, prob: np.ndarray) -> np.ndarray:
        return prob > 0.49 if self.robot == "R" else prob >= 0.5

    @property
    def threshold_rule(self) -> str:
        return "prob > 0.49" if self.robot == "R" else "prob >= 0.5"


def _check_output(name: str, out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.asarray(out)
    if out.shape != shape[:2]:
        raise ValueError(f"model {name} returned shape {out.shape}, expected {shape[:2]}")
    return out


# --------------------------------------------------------------------------- per sample
def run_iseg_sample(model, image: np.ndarray, gt: np.ndarray, config: IsegConfig) -> dict:
    """Click-by-click loop of §B.3 for one image; gt is int {−1, 0, 1}."""
    robot = ROBOTS[config.robot]
    h, w = gt.shape
    prob = np.zeros((h, w), np.float32)
    pred = np.zeros((h, w), bool)
    clicks: list[Click] = []
    ious, corrective, seconds = [], [], 0.0
    for _ in range(config.max_clicks):
        click = robot(gt, pred, clicks)
        if click == NO_ERROR:                 # protocol L's reference loop clicks (H−1, W−1), negative
            click = (h - 1, w - 1, False)
        region = chosen_region(gt, pred, click)
        clicks.append(click)
        t0 = time.perf_counter()
        prob = to_probability(_check_output("predict_iseg", model.predict_iseg(image, list(clicks), prob), gt.shape))
        seconds += time.perf_counter() - t0
        pred = config.binarize(prob)
        ious.append(iou(gt, pred))
        corrective.append(corrective_accuracy(gt, region, pred))
        if config.target is not None and ious[-1] >= config.target:
            break
    record = {
        "ious": ious,
        "clicks": [[int(y), int(x), bool(p)] for y, x, p in clicks],
        "corrective": corrective,
        "model_seconds": seconds,
    }
    for thr in NOC_THRESHOLDS:
        record[f"noc{round(thr * 100)}"] = noc_per_image(ious, thr, config.max_clicks)
    return record


def run_matting_sample(model, image: np.ndarray, alpha: np.ndarray, trimap: np.ndarray) -> dict:
    """Composition-1k style: quantise, mask by the trimap, then the four metrics over trimap == 128."""
    t0 = time.perf_counter()
    out = _check_output("predict_matting", model.predict_matting(image, trimap), alpha.shape)
    seconds = time.perf_counter() - t0
    pred = mask_by_trimap(quantize_alpha(out), trimap)
    return {**matting_errors(pred, alpha_to_uint8(alpha), trimap), "model_seconds": seconds}


def run_imatting_sample(model, image: np.ndarray, alpha: np.ndarray, max_clicks: int = 20) -> dict:
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
        for name, value in whole_image_errors(pred, gt).items():
            per_click.setdefault(name, []).append(value)
    return {"per_click": per_click, "clicks": [[int(y), int(x), bool(p)] for y, x, p in clicks],
            "model_seconds": seconds}


# --------------------------------------------------------------------------- over a benchmark
def _evaluate_one(protocol: str, path: str, model, config: IsegConfig | None, max_clicks: int,
                  index: int) -> dict:
    """One benchmark sample -> its record; any failure becomes ``{"id", "error"}`` so the run goes on."""
    from datagen.shards import open_dataset

    ds = open_dataset(path)
    sample_id = ds.ids[index]
    try:
        sample = ds[index]
        image = sample["image"]
        if protocol == "iseg":
            if "mask" not in sample:
                raise ValueError("benchmark sample has no mask")
            record = run_iseg_sample(model, image, gt_from_benchmark(sample["mask"], sample.get("ignore")), config)
        elif protocol == "matting":
            if "alpha" not in sample or "trimap" not in sample:
                raise ValueError("matting protocol needs alpha and trimap")
            record = run_matting_sample(model, image, sample["alpha"], sample["trimap"])
        else:
            if "alpha" not in sample:
                raise ValueError("interactive matting protocol needs alpha")
            record = run_imatting_sample(model, image, sample["alpha"], max_clicks)
    except Exception as exc:  # reported per sample; the rest of the benchmark still runs
        return {"id": sample_id, "error": f"{type(exc).__name__}: {exc}"}
    return {"id": sample_id, **record}


def evaluate_benchmark(protocol: str, benchmark: str, model, *, config: IsegConfig | None = None,
                       max_clicks: int = 20, ids: str | None = None, limit: int | None = None,
                       workers: int = 1, scheduler: str | None = None, progress: bool = True) -> list[dict]:
    """Run ``protocol`` ("iseg" | "matting" | "imatting") on the samples in dataset order.

    ``ids`` keeps the samples whose id matches a shell pattern (e.g. ``*_trimap1``), then
    ``limit`` keeps the first N of them.
    """
    from datagen.runner import map_tasks
    from datagen.shards import open_dataset

    if protocol not in ("iseg", "matting", "imatting"):
        raise ValueError(f"unknown protocol {protocol!r}")
    if protocol == "iseg" and config is None:
        config = IsegConfig(max_clicks=max_clicks)
    all_ids = open_dataset(benchmark).ids
    indices = [i for i, sid in enumerate(all_ids) if ids is None or fnmatch.fnmatchcase(sid, ids)][:limit]
    fn = functools.partial(_evaluate_one, protocol, str(benchmark), model, config, max_clicks)
    return map_tasks(fn, indices, workers=workers, scheduler=scheduler, progress=progress,
                     desc=f"evaluate {protocol}", unit="sample")


# --------------------------------------------------------------------------- aggregation
def aggregate_iseg(records: list[dict], config: IsegConfig) -> dict:
    """Dataset scores from per-image records (failed samples excluded and counted)."""
    ok = [r for r in records if "error" not in r]
    if not ok:
        return {"n_images": 0, "n_failed": len(records)}
    all_ious = [r["ious"] for r in ok]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    for thr in NOC_THRESHOLDS:
        key = round(thr * 100)
        out[f"noc{key}"] = noc(all_ious, thr, config.max_clicks)
        out[f"noc20_images{key}"] = noc_at_max(all_ious, thr, config.max_clicks)
        out[f"failures{key}"] = failures(all_ious, thr, config.max_clicks)
    if config.target is None:
        miou = miou_per_click(all_ious)
        out["miou_per_click"] = [float(v) for v in miou]
        out["auc"] = float(miou.mean())
        per_image = np.asarray(all_ious).mean(axis=1)
        out["auc_ci95"] = float(1.96 * per_image.std(ddof=1) / np.sqrt(len(ok))) if len(ok) > 1 else None
        out["share_above"] = share_table(all_ious)
        out["corrective_per_click"] = nanmean_per_click([r["corrective"] for r in ok])
    total_clicks = sum(len(r["ious"]) for r in ok)
    out["model_seconds_per_click"] = sum(r["model_seconds"] for r in ok) / total_clicks
    return out


MATTING_KEYS = ("sad", "mse", "grad", "conn")


def aggregate_matting(records: list[dict]) -> dict:
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    for key in MATTING_KEYS:
        out[key] = float(np.mean([r[key] for r in ok])) if ok else None
    return out


def aggregate_imatting(records: list[dict]) -> dict:
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    if not ok:
        return out
    out["per_click"] = {k: np.mean([r["per_click"][k] for r in ok], axis=0).tolist() for k in MATTING_KEYS}
    out["mean_over_clicks"] = {k: float(np.mean(v)) for k, v in out["per_click"].items()}
    return out


def config_dict(config: IsegConfig) -> dict:
    return {**asdict(config), "threshold_rule": config.threshold_rule}
