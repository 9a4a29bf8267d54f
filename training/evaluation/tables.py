"""What a report shows per protocol: its markdown table row and its PNG plots.

One function pair per protocol, named by its record in :mod:`training.evaluation.protocols`.
A new aggregate value shows up in a report once it has a column here: matting metrics are the
columns of :data:`MATTING_COLUMNS`, in the order of :data:`training.evaluation.metrics.MATTING_METRICS`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from training.evaluation.metrics import MATTING_METRICS

MATTING_COLUMNS = {"sad": ("SAD", 1.0), "mse": ("MSE×10³", 1e3), "grad": ("Grad", 1.0), "conn": ("Conn", 1.0)}
"""Per matting metric: its column header and the factor papers print it with (MSE x 10^3)."""


def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _table(head: list[str], row: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(row) + " |"]
    return "\n".join(lines) + "\n"


def iseg_table(title: str, aggregate: dict) -> str:
    """One-row markdown table: NoC, mIoU at 1/5/20 clicks, AuC and the shares above 95/99 %."""
    miou = aggregate.get("miou_per_click") or []
    share = aggregate.get("share_above", {}).get("20", {})
    pick = lambda k: miou[k - 1] if len(miou) >= k else None  # noqa: E731
    head = ["run", "images", "NoC@85", "NoC@90", "NoC=20 @90", "mIoU@1", "mIoU@5", "mIoU@20", "AuC", ">95% @20",
            ">99% @20"]
    row = [title, str(aggregate["n_images"]), _fmt(aggregate.get("noc85"), 2), _fmt(aggregate.get("noc90"), 2),
           str(aggregate.get("noc20_images90", "n/a")), _fmt(pick(1)), _fmt(pick(5)), _fmt(pick(20)),
           _fmt(aggregate.get("auc"), 4), _fmt(share.get("95"), 2), _fmt(share.get("99"), 2)]
    return _table(head, row)


def _matting_row(title: str, n_images: int, values: dict) -> str:
    head = ["run", "images"] + [MATTING_COLUMNS[k][0] for k in MATTING_METRICS]
    row = [title, str(n_images)]
    for key in MATTING_METRICS:
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


def iseg_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """mIoU and corrective-click accuracy per click (full runs only)."""
    if not aggregate.get("miou_per_click"):
        return []
    plt = _pyplot()
    miou = aggregate["miou_per_click"]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    ax.plot(range(1, len(miou) + 1), miou, marker="o", label="mIoU")
    corr = [np.nan if v is None else v for v in aggregate.get("corrective_per_click", [])]
    if corr:
        ax.plot(range(1, len(corr) + 1), corr, marker=".", ls="--", label="corrective-click acc.")
    ax.set(xlabel="clicks", ylabel="score", title=title, xticks=range(1, len(miou) + 1, 2))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "miou_per_click.png")
    plt.close(fig)
    return ["miou_per_click.png"]


def matting_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """Trimap matting has one prediction per image: nothing to plot."""
    return []


def imatting_plots(title: str, aggregate: dict, out: Path) -> list[str]:
    """Each matting metric per click, one panel each."""
    if not aggregate.get("per_click"):
        return []
    plt = _pyplot()
    curves = aggregate["per_click"]
    fig, axes = plt.subplots(1, len(MATTING_METRICS), figsize=(3.25 * len(MATTING_METRICS), 3), dpi=100, squeeze=False)
    for ax, key in zip(axes[0], MATTING_METRICS, strict=True):
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
