"""Reports: results.json (per-sample, aggregate, protocol, versions), PNG plots and a markdown table."""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

PACKAGES = ("matting-datagen", "numpy", "scipy", "opencv-python-headless", "scikit-image", "pymatting", "torch")


def versions() -> dict[str, str | None]:
    """Installed versions, read from metadata so that no heavy package gets imported."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _json_safe(value):
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def _fmt(v, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def markdown_table(protocol: str, title: str, aggregate: dict) -> str:
    """One-row markdown table in the units papers print (MSE ×10³)."""
    if protocol == "iseg":
        head = "| run | images | NoC@85 | NoC@90 | NoC=20 @90 | mIoU@1 | mIoU@5 | mIoU@20 | AuC | >95% @20 | >99% @20 |"
        miou = aggregate.get("miou_per_click") or []
        share = aggregate.get("share_above", {}).get("20", {})
        pick = lambda k: miou[k - 1] if len(miou) >= k else None  # noqa: E731
        row = (f"| {title} | {aggregate['n_images']} | {_fmt(aggregate.get('noc85'), 2)} | {_fmt(aggregate.get('noc90'), 2)} "
               f"| {aggregate.get('noc20_images90', 'n/a')} | {_fmt(pick(1))} | {_fmt(pick(5))} | {_fmt(pick(20))} "
               f"| {_fmt(aggregate.get('auc'), 4)} | {_fmt(share.get('95'), 2)} | {_fmt(share.get('99'), 2)} |")
    else:
        vals = aggregate if protocol == "matting" else aggregate.get("mean_over_clicks", {})
        head = "| run | images | SAD | MSE×10³ | Grad | Conn |"
        mse = vals.get("mse")
        row = (f"| {title} | {aggregate['n_images']} | {_fmt(vals.get('sad'), 2)} | {_fmt(None if mse is None else mse * 1e3, 2)} "
               f"| {_fmt(vals.get('grad'), 2)} | {_fmt(vals.get('conn'), 2)} |")
    sep = "|" + "---|" * (head.count("|") - 1)
    return "\n".join([head, sep, row]) + "\n"


def plot(protocol: str, title: str, aggregate: dict, out: Path) -> list[str]:
    """Per-click curves as PNG (matplotlib Agg, imported here to keep CLI start-up light)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if protocol == "iseg" and aggregate.get("miou_per_click"):
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
        written.append("miou_per_click.png")
    if protocol == "imatting" and aggregate.get("per_click"):
        curves = aggregate["per_click"]
        fig, axes = plt.subplots(1, 4, figsize=(13, 3), dpi=100)
        for ax, (key, label) in zip(axes, (("sad", "SAD"), ("mse", "MSE×10³"), ("grad", "Grad"), ("conn", "Conn"))):
            v = np.asarray(curves[key]) * (1e3 if key == "mse" else 1.0)
            ax.plot(range(1, len(v) + 1), v, marker="o")
            ax.set(xlabel="clicks", title=label)
            ax.grid(alpha=0.3)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out / "metrics_per_click.png")
        plt.close(fig)
        written.append("metrics_per_click.png")
    return written


def write_report(out_dir: str | Path, *, protocol: str, benchmark: str, model: str, settings: dict,
                 records: list[dict], aggregate: dict, title: str | None = None) -> dict:
    """Write results.json, table.md and the plots into ``out_dir``; return the JSON document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    robot = f", robot {settings['robot']}" if protocol == "iseg" and "robot" in settings else ""
    title = title or f"{model} on {Path(benchmark).name}{robot}"
    doc = _json_safe({
        "protocol": protocol,
        "benchmark": str(benchmark),
        "model": model,
        "settings": settings,
        "versions": versions(),
        "aggregate": aggregate,
        "samples": records,
    })
    (out / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "table.md").write_text(markdown_table(protocol, title, doc["aggregate"]))
    doc["plots"] = plot(protocol, title, doc["aggregate"], out)
    return doc


def rewrite_report(out_dir: str | Path) -> dict:
    """Redraw table.md and the plots of an existing report from its results.json (no re-evaluation)."""
    doc = json.loads((Path(out_dir) / "results.json").read_text())
    return write_report(out_dir, protocol=doc["protocol"], benchmark=doc["benchmark"], model=doc["model"],
                        settings=doc["settings"], records=doc["samples"], aggregate=doc["aggregate"])
