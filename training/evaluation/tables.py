"""What a report shows per protocol: its markdown table row and its PNG plots.

One function pair per protocol, named by its record in :mod:`training.evaluation.protocols`.
A new aggregate value shows up in a report once it has a column here: matting metrics are the
columns of :data:`MATTING_COLUMNS`, in the order of :data:`training.evaluation.metrics.MATTING_REPORT_METRICS`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.evaluation.metrics import MATTING_REPORT_METRICS

MATTING_COLUMNS = {"sad": ("SAD", 1.0), "mse": ("MSE×10³", 1e3), "grad": ("Grad", 1.0), "conn": ("Conn", 1.0),
                   "mad": ("MAD×10³", 1e3)}
"""Per matting metric: its column header and the factor papers print it with (MSE and MAD x 10^3)."""


def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _table(head: list[str], row: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(row) + " |"]
    return "\n".join(lines) + "\n"


def _at_click(curve: list | None, k: int) -> float | None:
    """Value after click k of a per-click curve, None where the run has no such click."""
    return curve[k - 1] if curve and len(curve) >= k else None


def iseg_table(title: str, aggregate: dict) -> str:
    """One-row markdown table: NoC@85/90/95, failures at 90/95 % (never reached), mIoU at 1/5/20
    clicks, boundary IoU after 20, AuC, the shares above 95/99 % and the model's seconds per click."""
    miou = aggregate.get("miou_per_click")
    share = aggregate.get("share_above", {}).get("20", {})
    head = ["run", "images", "NoC@85", "NoC@90", "NoC@95", "NoC=20 @90", "fail@90", "fail@95", "mIoU@1", "mIoU@5",
            "mIoU@20", "BIoU@20", "AuC", ">95% @20", ">99% @20", "SPC (s)"]
    row = [title, str(aggregate["n_images"]), _fmt(aggregate.get("noc85"), 2), _fmt(aggregate.get("noc90"), 2),
           _fmt(aggregate.get("noc95"), 2), str(aggregate.get("noc20_images90", "n/a")),
           str(aggregate.get("failures90", "n/a")), str(aggregate.get("failures95", "n/a")), _fmt(_at_click(miou, 1)),
           _fmt(_at_click(miou, 5)), _fmt(_at_click(miou, 20)), _fmt(_at_click(aggregate.get("boundary_iou_per_click"), 20)),
           _fmt(aggregate.get("auc"), 4), _fmt(share.get("95"), 2), _fmt(share.get("99"), 2),
           _fmt(aggregate.get("seconds_per_click", aggregate.get("model_seconds_per_click")), 3)]
    return _table(head, row)


def _matting_row(title: str, n_images: int, values: dict) -> str:
    head = ["run", "images"] + [MATTING_COLUMNS[k][0] for k in MATTING_REPORT_METRICS]
    row = [title, str(n_images)]
    for key in MATTING_REPORT_METRICS:
        value = values.get(key)
        row.append(_fmt(None if value is None else value * MATTING_COLUMNS[key][1], 2))
    return _table(head, row)


def matting_table(title: str, aggregate: dict) -> str:
    """One-row markdown table of the mean metrics in the units papers print."""
    return _matting_row(title, aggregate["n_images"], aggregate)


def imatting_table(title: str, aggregate: dict) -> str:
    """One-row markdown table of the metrics' means over the clicks."""
    return _matting_row(title, aggregate["n_images"], aggregate.get("mean_over_clicks", {}))


def _pyplot():
    """matplotlib with the Agg backend, imported here to keep CLI start-up light."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _per_click_plot(title: str, curves: dict[str, list], ylabel: str, path: Path) -> None:
    """Curves over clicks 1..n in one panel (None values, undefined clicks, left as gaps)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    n = 0
    for (label, values), style in zip(curves.items(), ("-", "--", ":"), strict=False):
        v = [np.nan if x is None else x for x in values]
        ax.plot(range(1, len(v) + 1), v, marker="o" if style == "-" else ".", ls=style, label=label)
        n = max(n, len(v))
    ax.set(xlabel="clicks", ylabel=ylabel, title=title, xticks=range(1, n + 1, 2))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def iseg_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """mIoU with corrective-click accuracy, and boundary IoU, per click (full runs only)."""
    if not aggregate.get("miou_per_click"):
        return []
    curves = {"mIoU": aggregate["miou_per_click"]}
    if aggregate.get("corrective_per_click"):
        curves["corrective-click acc."] = aggregate["corrective_per_click"]
    _per_click_plot(title, curves, "score", out / "miou_per_click.png")
    if not aggregate.get("boundary_iou_per_click"):
        return ["miou_per_click.png"]
    _per_click_plot(title, {"boundary IoU": aggregate["boundary_iou_per_click"]}, "boundary IoU",
                    out / "boundary_iou_per_click.png")
    return ["miou_per_click.png", "boundary_iou_per_click.png"]


def matting_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """SAD per sample (bars, in dataset order) and SAD against the unknown region's size (scatter),
    the second showing whether errors only grow with the region a trimap leaves open."""
    samples = [s for s in aggregate.get("per_sample", []) if s.get("sad") is not None]
    if not samples:
        return []
    plt = _pyplot()
    sad = [s["sad"] for s in samples]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.25 * len(samples)), 3.5), dpi=100)
    ax.bar(range(len(samples)), sad)
    ax.set_xticks(range(len(samples)), [str(s["id"]) for s in samples], rotation=90, fontsize=6)
    ax.set(ylabel="SAD", title=title)
    fig.tight_layout()
    fig.savefig(out / "sad_per_sample.png")
    plt.close(fig)
    names = ["sad_per_sample.png"]
    if all(s.get("unknown_pixels") is not None for s in samples):
        fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
        ax.scatter([s["unknown_pixels"] for s in samples], sad)
        ax.set(xlabel="unknown-region pixels (trimap = 128)", ylabel="SAD", title=title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "sad_vs_unknown_pixels.png")
        plt.close(fig)
        names.append("sad_vs_unknown_pixels.png")
    return names


def imatting_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """Each matting metric per click, one panel each."""
    if not aggregate.get("per_click"):
        return []
    plt = _pyplot()
    curves = aggregate["per_click"]
    keys = [k for k in MATTING_REPORT_METRICS if k in curves]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.25 * len(keys), 3), dpi=100, squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        label, factor = MATTING_COLUMNS[key]
        v = np.asarray(curves[key]) * factor
        ax.plot(range(1, len(v) + 1), v, marker="o")
        ax.set(xlabel="clicks", title=label)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out / "metrics_per_click.png")
    plt.close(fig)
    return ["metrics_per_click.png"]
