"""Re-fit every object's foreground and background at every pixel, dataset-wide.

One object is one task (`RefitTask`): read fg + alpha (from an `objects` dataset or from two
folders), estimate F and B, store them as uint16 `fg_full` / `bg_full` (1/65535 steps, so the
stored precision is far below the solver's accuracy and 8-bit rounding never limits it), and
describe the solve in the sample's recipe. Everything in the recipe is deterministic; the
seconds go to a side file per object, so shards stay byte-identical whatever the worker count.
The dataset-level driver runs the tasks through the shard writer (parallel, resumable) and
gathers a JSON-lines report.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datagen.foreground.spill import spill_score

METHODS = ("levin", "multilevel")
REPORT = "refit-report.jsonl"
_SIDE = ".refit-report"


@dataclass(frozen=True)
class ObjectRef:
    """Where one object comes from: a dataset index, or an fg file with an alpha file (or none: RGBA)."""

    id: str
    dataset: str | None = None
    index: int = -1
    fg_path: str | None = None
    alpha_path: str | None = None

    def __str__(self) -> str:
        if self.dataset is not None:
            return f"{self.id} ({self.dataset}#{self.index})"
        return f"{self.id} ({self.fg_path})"


def _unit(array: np.ndarray) -> np.ndarray:
    """uint8/uint16 (or float in [0, 1]) to float64 in [0, 1]."""
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def read_object(ref: ObjectRef) -> tuple[np.ndarray, np.ndarray, dict, list[str]]:
    """(fg, alpha, source recipe, notes) of one object; errors name the file."""
    notes: list[str] = []
    if ref.dataset is not None:
        from datagen.shards import open_dataset

        sample = open_dataset(ref.dataset).read(ref.index, fields=("fg", "alpha", "recipe"))
        fg, alpha, recipe = sample["fg"], sample["alpha"], sample.get("recipe") or {}
        where = f"{ref.dataset} sample {ref.id}"
    else:
        from datagen import imageio

        if ref.alpha_path is None:
            fg, alpha = imageio.read_rgba(ref.fg_path)
            notes.append(f"no alpha file: used the alpha channel of {ref.fg_path}")
        else:
            fg, alpha = imageio.read_image(ref.fg_path), imageio.read_alpha(ref.alpha_path)
        recipe = {}
        where = f"{ref.fg_path} / {ref.alpha_path or 'its alpha channel'}"
    if fg.shape[:2] != alpha.shape:
        raise ValueError(f"{where}: fg is {fg.shape[1]}x{fg.shape[0]} but alpha is {alpha.shape[1]}x{alpha.shape[0]}")
    return fg, alpha, recipe, notes


def estimate(image: np.ndarray, alpha: np.ndarray, method: str, margin: float,
             threads: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """F, B (float [0, 1]) and solver facts for one object with the chosen method (`threads`:
    levin's cap, None for every core)."""
    if method == "levin":
        from datagen.foreground.levin import estimate_fb_levin

        foreground, background, info = estimate_fb_levin(image, alpha, margin=margin, threads=threads)
        return foreground, background, {"iterations": info.iterations, "residual": info.residual,
                                        "unknowns": info.unknowns}
    if method == "multilevel":
        from datagen.foreground.multilevel import estimate_fb_multilevel

        foreground, background = estimate_fb_multilevel(image, alpha)
        return foreground, background, {"iterations": 0, "residual": None, "unknowns": 0}
    raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def _to_uint16(array: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(array, 0.0, 1.0) * 65535.0).astype(np.uint16)


@dataclass(frozen=True)
class RefitTask:
    """Picklable `make_sample` for the shard writer: one object in, one refit sample out."""

    method: str = "levin"
    margin: float = 0.0
    report_dir: str | None = None
    threads: int | None = None  # levin's threads per object: None = every core (one object at a time)

    def __call__(self, ref: ObjectRef) -> dict:
        start = time.perf_counter()
        fg, alpha, source_recipe, notes = read_object(ref)
        image, a = _unit(fg), _unit(alpha)
        foreground, background, facts = estimate(image, a, self.method, self.margin, self.threads)
        if not (a > 0).any() or not (a < 1).any():
            notes.append(_undetermined_note(a))
        fg_full, bg_full = _to_uint16(foreground), _to_uint16(background)
        stored_f, stored_b = _unit(fg_full), _unit(bg_full)
        inside = a > 0
        residual = np.abs(image - a[..., None] * stored_f - (1.0 - a[..., None]) * stored_b).mean(axis=2)
        refit = {
            "method": self.method,
            "margin": self.margin,
            **facts,
            "composite_residual": float(residual[inside].mean() * 255.0) if inside.any() else 0.0,
            "spill_before": spill_score(image, a),
            "spill_after": spill_score(stored_f, a),
            "notes": notes,
        }
        if self.report_dir is not None:
            seconds = time.perf_counter() - start
            row = {"id": ref.id, "status": "ok", **refit, "seconds": round(seconds, 3)}
            Path(self.report_dir).mkdir(parents=True, exist_ok=True)
            (Path(self.report_dir) / f"{ref.id}.json").write_text(json.dumps(row))
        return {"id": ref.id, "fg": fg, "alpha": alpha, "fg_full": fg_full, "bg_full": bg_full,
                "recipe": {"refit": refit, "source": source_recipe}}


def _undetermined_note(alpha: np.ndarray) -> str:
    return "alpha is all 0: F undetermined, set to the image" if not (alpha > 0).any() else (
        "alpha is all 1: B undetermined, set to the image")


def dataset_refs(src: str | os.PathLike) -> list[ObjectRef]:
    """One reference per object of an `objects` dataset."""
    from datagen.shards import open_dataset

    dataset = open_dataset(src)
    if dataset.kind != "objects":
        raise ValueError(f"{src} is a {dataset.kind!r} dataset; refit needs an 'objects' dataset")
    return [ObjectRef(sample_id, dataset=str(src), index=i) for i, sample_id in enumerate(dataset.ids)]


def folder_refs(fg_dir: str | os.PathLike, alpha_dir: str | os.PathLike | None) -> list[ObjectRef]:
    """Pair foregrounds and alphas by file stem; an fg without an alpha file relies on its own alpha channel."""
    from datagen.imageio import is_image_file

    fg_files = sorted(p for p in Path(fg_dir).iterdir() if is_image_file(p))
    alphas = {p.stem: p for p in Path(alpha_dir).iterdir() if is_image_file(p)} if alpha_dir else {}
    return [ObjectRef(p.stem, fg_path=str(p), alpha_path=str(alphas[p.stem]) if p.stem in alphas else None)
            for p in fg_files]


def refit_objects(refs: list[ObjectRef], out: str | os.PathLike, *, method: str = "levin", margin: float = 0.0,
                  workers: int = 1, scheduler: str | None = None, progress: bool = True,
                  provenance: dict | None = None):
    """Refit every referenced object into the `objects` dataset `out`; returns (WriteResult, report rows).

    Resumable (finished shards are kept). The report (one JSON line per object, failures
    included) is written to `out/refit-report.jsonl`.
    """
    from datagen.shards import write_dataset

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    out = Path(out)
    # One object at a time uses every core; several at once (workers, a cluster) one core each.
    threads = None if workers == 1 and scheduler is None else 1
    task = RefitTask(method, margin, str(out / _SIDE), threads)
    params = {"method": method, "margin": margin}
    provenance = {**(provenance or {}), "params": {**(provenance or {}).get("params", {}), **params}}
    result = write_dataset(out, "objects", refs, task, provenance=provenance, shard_size=8, workers=workers,
                           scheduler=scheduler, progress=progress, desc=f"refit ({method})")
    rows = _gather_report(out, refs, result)
    (out / REPORT).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return result, rows


def _gather_report(out: Path, refs: list[ObjectRef], result) -> list[dict]:
    failed = {failure.item: failure.error for failure in result.failures}
    rows = []
    for ref in refs:
        if str(ref) in failed:
            rows.append({"id": ref.id, "status": "failed", "error": failed[str(ref)]})
            continue
        side = out / _SIDE / f"{ref.id}.json"
        rows.append(json.loads(side.read_text()) if side.exists() else {"id": ref.id, "status": "ok"})
    return rows


def summary_table(rows: list[dict]) -> str:
    """A short plain-text table: objects, failures, median seconds, mean iterations, residual and spill."""
    done = [row for row in rows if row.get("status") == "ok" and "spill_after" in row]
    failed = [row for row in rows if row.get("status") == "failed"]

    def mean(key):
        values = [row[key] for row in done if row.get(key) is not None]
        return float(np.mean(values)) if values else float("nan")

    seconds = [row["seconds"] for row in done if "seconds" in row]
    noted = sum(1 for row in done if row.get("notes"))
    lines = [
        f"objects refit      {len(done)}   failed {len(failed)}   with notes {noted}",
        f"seconds / object   {np.median(seconds) if seconds else float('nan'):.2f} (median)",
        f"solver iterations  {mean('iterations'):.1f} (mean)",
        f"composite residual {mean('composite_residual'):.3f} (mean |I - aF - (1-a)B| where a > 0, 0-255)",
        f"spill before/after {mean('spill_before'):.2f} / {mean('spill_after'):.2f} (0-255, 8x down/up on grey)",
    ]
    return "\n".join(lines)
