"""The refit report: one JSON file per finished object while the run goes (written by the task,
so it survives an interruption and carries the seconds the shards must not), gathered at the
end into one JSON-lines file with the failures, and a short summary for the terminal."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

REPORT = "refit-report.jsonl"
SIDE_DIR = ".refit-report"


def write_side_row(report_dir: str | os.PathLike, row: dict) -> None:
    """Keep one object's report row (`row["id"]` names the file)."""
    Path(report_dir).mkdir(parents=True, exist_ok=True)
    (Path(report_dir) / f"{row['id']}.json").write_text(json.dumps(row))


def gather_report(out: Path, refs: list, failures: list) -> list[dict]:
    """Every object's row in `refs` order: its side row, or its failure (`failures` are the
    writer's, whose `item` is the reference's text)."""
    failed = {failure.item: failure.error for failure in failures}
    rows = []
    for ref in refs:
        if str(ref) in failed:
            rows.append({"id": ref.id, "status": "failed", "error": failed[str(ref)]})
            continue
        side = out / SIDE_DIR / f"{ref.id}.json"
        rows.append(json.loads(side.read_text()) if side.exists() else {"id": ref.id, "status": "ok"})
    return rows


def write_report(out: Path, rows: list[dict]) -> Path:
    """OUT/refit-report.jsonl, one row per line; returns its path."""
    path = out / REPORT
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def summary_table(rows: list[dict]) -> str:
    """A short plain-text table: objects, failures, median seconds, mean iterations (solvers that
    iterate), residual and spill."""
    done = [row for row in rows if row.get("status") == "ok" and "spill_after" in row]
    failed = [row for row in rows if row.get("status") == "failed"]

    def mean(key):
        values = [row[key] for row in done if row.get(key) is not None]
        return sum(values) / len(values) if values else float("nan")

    seconds = [row["seconds"] for row in done if "seconds" in row]
    median = statistics.median(seconds) if seconds else float("nan")
    noted = sum(1 for row in done if row.get("notes"))
    lines = [
        f"objects refit      {len(done)}   failed {len(failed)}   with notes {noted}",
        f"seconds / object   {median:.2f} (median)",
        *([f"solver iterations  {mean('iterations'):.1f} (mean)"] if any("iterations" in row for row in done) else []),
        f"composite residual {mean('composite_residual'):.3f} (mean |I - aF - (1-a)B| where a > 0, 0-255)",
        f"spill before/after {mean('spill_before'):.2f} / {mean('spill_after'):.2f} (0-255, 8x down/up on grey)",
    ]
    return "\n".join(lines)
