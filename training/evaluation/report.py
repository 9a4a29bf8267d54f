"""Reports: results.json (per-sample, aggregate, protocol, versions), PNG plots and a markdown table."""

from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from training.evaluation.protocols import protocol as protocol_record

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


def write_report(out_dir: str | Path, *, protocol: str, benchmark: str, model: str, settings: dict,
                 records: list[dict], aggregate: dict, title: str | None = None) -> dict:
    """Write results.json, table.md and the plots into ``out_dir``; return the JSON document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = protocol_record(protocol)
    title = title or f"{model} on {Path(benchmark).name}{record.title_note(settings)}"
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
    (out / "table.md").write_text(record.table(title, doc["aggregate"]))
    doc["plots"] = record.plots(title, doc["aggregate"], out)
    return doc


def rewrite_report(out_dir: str | Path) -> dict:
    """Redraw table.md and the plots of an existing report from its results.json (no re-evaluation)."""
    doc = json.loads((Path(out_dir) / "results.json").read_text())
    return write_report(out_dir, protocol=doc["protocol"], benchmark=doc["benchmark"], model=doc["model"],
                        settings=doc["settings"], records=doc["samples"], aggregate=doc["aggregate"])
