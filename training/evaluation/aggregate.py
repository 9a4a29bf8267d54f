"""Dataset scores from per-sample records, one function per protocol (failed samples excluded and
counted); :mod:`training.evaluation.protocols` says which protocol uses which."""

from __future__ import annotations

import numpy as np

from training.evaluation.metrics import MATTING_REPORT_METRICS
from training.evaluation.noc import miou_per_click, nanmean_per_click, noc_summary, share_table
from training.evaluation.sample_loops import NOC_THRESHOLDS, ImattingConfig, IsegConfig
from training.evaluation.timing import seconds_per_click


def aggregate_iseg(records: list[dict], config: IsegConfig | None) -> dict:
    """NoC, failures, seconds per click and, for full runs (no ``target``), the per-click curves
    (mIoU, boundary IoU, corrective accuracy) and AuC; the run's ``config`` (clicks, early stop)
    is needed. Mask-correction runs add the mean IoU of the initial masks."""
    if config is None:
        raise ValueError("aggregating iseg records needs the run's IsegConfig")
    ok = [r for r in records if "error" not in r]
    if not ok:
        return {"n_images": 0, "n_failed": len(records)}
    all_ious = [r["ious"] for r in ok]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    out.update(noc_summary(all_ious, NOC_THRESHOLDS, config.max_clicks))
    if config.target is None:
        miou = miou_per_click(all_ious)
        out["miou_per_click"] = [float(v) for v in miou]
        out["auc"] = float(miou.mean())
        per_image = np.asarray(all_ious).mean(axis=1)
        out["auc_ci95"] = float(1.96 * per_image.std(ddof=1) / np.sqrt(len(ok))) if len(ok) > 1 else None
        out["share_above"] = share_table(all_ious)
        out["corrective_per_click"] = nanmean_per_click([r["corrective"] for r in ok])
        if all("boundary_ious" in r for r in ok):          # reports written before boundary IoU have none
            out["boundary_iou_per_click"] = nanmean_per_click([r["boundary_ious"] for r in ok])
    if all("initial_iou" in r for r in ok):
        out["initial_iou"] = float(np.nanmean([r["initial_iou"] for r in ok]))
    spc = seconds_per_click([r["model_seconds"] for r in ok], [len(r["ious"]) for r in ok])
    out["seconds_per_click"] = spc["seconds_per_click"]
    out["seconds_per_click_per_sample"] = spc["seconds_per_click_per_sample"]
    out["model_seconds_per_click"] = spc["seconds_per_click"]     # the name reports before SPC used
    return out


def aggregate_matting(records: list[dict], config: None = None) -> dict:
    """Mean SAD, MSE, Grad, Conn and MAD over the samples, and per sample (id, SAD, MAD,
    unknown-region pixels) for the report's plots."""
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    for key in MATTING_REPORT_METRICS:
        out[key] = float(np.mean([r[key] for r in ok])) if ok and all(key in r for r in ok) else None
    out["per_sample"] = [{k: r.get(k) for k in ("id", "sad", "mad", "unknown_pixels")} for r in ok]
    return out


def aggregate_imatting(records: list[dict], config: ImattingConfig | None = None) -> dict:
    """Per-click mean curves of the four metrics and their mean over the clicks."""
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    if not ok:
        return out
    out["per_click"] = {k: np.mean([r["per_click"][k] for r in ok], axis=0).tolist() for k in MATTING_REPORT_METRICS
                        if all(k in r["per_click"] for r in ok)}
    out["mean_over_clicks"] = {k: float(np.mean(v)) for k, v in out["per_click"].items()}
    return out
