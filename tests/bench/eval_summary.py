"""Collect the baseline reports under docs/eval/*/results.json into the markdown tables of
docs/evaluation.md (run by hand after the `training evaluate` runs listed there).

    python tests/bench/eval_summary.py [docs/eval]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _iseg_row(name: str, doc: dict) -> str:
    a = doc["aggregate"]
    miou = a.get("miou_per_click") or [None] * 20
    share = a.get("share_above", {}).get("20", {})
    f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    return (f"| {name} | {doc['settings']['robot']} | {a['n_images']} | {f(a['noc85'], 2)} | {f(a['noc90'], 2)} "
            f"| {a['failures90']} | {f(miou[0])} | {f(miou[4])} | {f(miou[19])} | {f(a.get('auc'))} "
            f"| {f(share.get('95'), 2)} | {f(a['model_seconds_per_click'], 2)} |")


def _later_iseg_row(name: str, doc: dict) -> str:
    """The columns of later papers (issue 29): NoC@95, failures, boundary IoU, SPC, zoom-in on/off,
    re-aggregated from the per-sample records (reports written before these columns existed hold
    every click's IoU and time, so NoC@95, failures and SPC come out of them; boundary IoU does not)."""
    from training.evaluation.aggregate import aggregate_iseg
    from training.evaluation.sample_loops import IsegConfig

    st = doc["settings"]
    a = aggregate_iseg(doc["samples"], IsegConfig(robot=st["robot"], max_clicks=st["max_clicks"], target=st["target"]))
    biou = a.get("boundary_iou_per_click") or [None] * 20
    miou = a.get("miou_per_click") or [None] * 20
    f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    zoom = "on" if doc["settings"].get("zoom_in") else "off"
    return (f"| {name} | {st['robot']} | {zoom} | {a['n_images']} | {f(a['noc90'], 2)} | {f(a['noc95'], 2)} | {a['failures90']} "
            f"| {a['failures95']} | {a['noc20_images95']} | {f(miou[19])} | {f(biou[0])} | {f(biou[19])} "
            f"| {f(a['seconds_per_click'], 2)} |")


def _matting_rows(name: str, doc: dict) -> list[str]:
    rows = []
    ok = [s for s in doc["samples"] if "error" not in s]
    for trimap in ("trimap1", "trimap2"):
        part = [s for s in ok if s["id"].endswith(trimap)]
        if not part:
            continue
        m = {k: float(np.mean([s[k] for s in part])) for k in ("sad", "mse", "grad", "conn")}
        mad = f"{float(np.mean([s['mad'] for s in part])) * 1e3:.2f}" if all("mad" in s for s in part) else "n/a"
        rows.append(f"| {name} | {trimap} | {len(part)} | {m['sad']:.2f} | {m['mse'] * 1e3:.2f} | {m['grad']:.2f} "
                    f"| {m['conn']:.2f} | {mad} |")
    return rows


def main(root: Path) -> None:
    iseg, later, matting, imatting = [], [], [], []
    for path in sorted(root.glob("*/results.json")):
        doc = json.loads(path.read_text())
        name = f"{Path(doc['benchmark']).name} / {doc['model'].split(':')[-1]}"
        if doc["protocol"] == "iseg":
            iseg.append(_iseg_row(name, doc))
            later.append(_later_iseg_row(name, doc))
        elif doc["protocol"] == "matting":
            matting.extend(_matting_rows(name, doc))
        else:
            a = doc["aggregate"]
            m, last = a["mean_over_clicks"], {k: v[-1] for k, v in a["per_click"].items()}
            imatting.append(f"| {name} | {a['n_images']} | {m['sad']:.2f} | {m['mse'] * 1e3:.2f} | {m['grad']:.2f} "
                            f"| {m['conn']:.2f} | {last['sad']:.2f} | {last['mse'] * 1e3:.2f} |")
    print("| benchmark / model | robot | images | NoC@85 | NoC@90 | fail@90 | mIoU@1 | mIoU@5 | mIoU@20 | AuC "
          "| >95% @20 | s/click |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(iseg))
    print()
    print("| benchmark / model | robot | zoom-in | images | NoC@90 | NoC@95 | fail@90 | fail@95 | NoF@95 | mIoU@20 | BIoU@1 "
          "| BIoU@20 | SPC (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(later))
    print()
    print("| benchmark / model | trimap | images | SAD | MSE×10³ | Grad | Conn | MAD×10³ |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(matting))
    print()
    print("| benchmark / model | images | SAD (mean 1-20) | MSE×10³ | Grad | Conn | SAD @20 | MSE×10³ @20 |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(imatting))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/eval"))
