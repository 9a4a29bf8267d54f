"""``metrics.csv`` (one row per logged step, a ``loss`` column first among the values) and, when
the ``tensorboard`` package is installed, the same scalars as TensorBoard event files."""

from __future__ import annotations

import csv
from pathlib import Path

FIXED = ("step", "epoch", "lr", "loss", "samples_per_s")


class MetricsLog:
    """Append-only log that a resumed run first cuts back to its checkpoint's step, so rows written
    after the last checkpoint by a killed run do not appear twice."""

    def __init__(self, out: str | Path, resume_step: int | None = None) -> None:
        self.path = Path(out) / "metrics.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.columns: list[str] | None = None
        if resume_step is not None and self.path.is_file():
            with open(self.path, newline="") as handle:
                rows = list(csv.DictReader(handle))
            if rows:
                self.columns = list(rows[0])
                self._write_rows([r for r in rows if int(r["step"]) <= resume_step], "w")
        elif self.path.exists():
            self.path.unlink()
        self.tensorboard = _tensorboard_writer(Path(out) / "tensorboard")

    def log(self, values: dict[str, float]) -> None:
        """One row; the first row fixes the columns (the fixed ones, then the loss parts)."""
        if self.columns is None:
            self.columns = [*FIXED, *sorted(k for k in values if k not in FIXED)]
            self._write_rows([], "w")
        self._write_rows([values], "a")
        if self.tensorboard is not None:
            for key, value in values.items():
                if key not in ("step", "epoch"):
                    self.tensorboard.add_scalar(key, value, int(values["step"]))

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()

    def _write_rows(self, rows: list[dict], mode: str) -> None:
        """Write ``rows``; a folder gone unwritable or full is one line (ValueError) naming the file."""
        try:
            with open(self.path, mode, newline="") as handle:
                assert self.columns is not None, "the first row fixes the columns"
                writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
                if mode == "w":
                    writer.writeheader()
                writer.writerows(rows)
        except OSError as exc:
            raise ValueError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def _tensorboard_writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:       # tensorboard is optional: metrics.csv always exists
        return None
    return SummaryWriter(str(folder))
