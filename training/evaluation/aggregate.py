"""Dataset scores from per-sample records, one function per protocol (failed samples excluded and
counted); :mod:`training.evaluation.protocols` says which protocol uses which."""

from __future__ import annotations

import numpy as np

from training.evaluation.metrics import MATTING_METRICS
from training.evaluation.noc import failures, miou_per_click, nanmean_per_click, noc, noc_at_max, share_table
from training.evaluation.sample_loops import NOC_THRESHOLDS, ImattingConfig, IsegConfig


def aggregate_iseg(records: list[dict], config: IsegConfig | None) -> dict:
    """NoC, failures and, for full runs (no ``target``), the per-click curves and AuC; the run's
    ``config`` (clicks, early stop) is needed."""
    if config is None:
        raise ValueError("aggregating iseg records needs the run's IsegConfig")
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


def aggregate_matting(records: list[dict], config: None = None) -> dict:
    """Mean SAD, MSE, Grad and Conn over the samples."""
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    for key in MATTING_METRICS:
        out[key] = float(np.mean([r[key] for r in ok])) if ok else None
    return out


def aggregate_imatting(records: list[dict], config: ImattingConfig | None = None) -> dict:
    """Per-click mean curves of the four metrics and their mean over the clicks."""
    ok = [r for r in records if "error" not in r]
    out: dict = {"n_images": len(ok), "n_failed": len(records) - len(ok)}
    if not ok:
        return out
    out["per_click"] = {k: np.mean([r["per_click"][k] for r in ok], axis=0).tolist() for k in MATTING_METRICS}
    out["mean_over_clicks"] = {k: float(np.mean(v)) for k, v in out["per_click"].items()}
    return out
