"""``python tests/signal_at_step.py STEP SIGNAL RANK training-args...``: the `training` command line
with a real SIGNAL (SIGINT, SIGTERM) sent by the process to itself while step STEP runs, on rank
RANK only (0 outside torchrun): a signal at a fixed point of the run for the interruption tests,
delivered through the handlers the run installed, as one from a terminal or a scheduler would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from training.loops import engine

HERE = Path(__file__).resolve()


def command(step: int, signal_name: str, rank: int, args: list[str]) -> list[str]:
    """The argv that runs ``training ARGS`` with the signal at ``step`` on ``rank``."""
    return [sys.executable, str(HERE), str(step), signal_name, str(rank), *args]


def run(step: int, signal_name: str, args: list[str], timeout: float = 600) -> subprocess.CompletedProcess:
    """One process (one torch thread, as the in-process runs it is compared with)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command(step, signal_name, 0, args), env=env, capture_output=True, text=True,
                          timeout=timeout)


def interrupt_and_resume(args: list[str], root: Path, network: str, step: int, signal_name: str,
                         code: int) -> tuple[dict, dict]:
    """The interruption check the three loops share: ``training ARGS --out root/cut`` stopped by
    SIGNAL in STEP must exit CODE with its one message, no traceback and no temporary left, and
    hold last.pt at that step; it is then resumed, and the same run is made uninterrupted into
    root/whole. Returns the (whole, cut) checkpoints for the caller to compare."""
    from typer.testing import CliRunner

    from training.checkpoint import load_checkpoint
    from training.cli import app

    stopped = run(step, signal_name, [*args, "--out", str(root / "cut")])
    assert stopped.returncode == code, stopped.stdout + stopped.stderr
    assert f"interrupted at step {step}; continue with --resume" in stopped.stderr and "Traceback" not in stopped.stderr
    assert load_checkpoint(root / "cut" / "last.pt", network)["position"]["step"] == step
    assert not list((root / "cut").glob(".*.tmp-*"))
    resumed = CliRunner().invoke(app, [*args, "--out", str(root / "cut"), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert CliRunner().invoke(app, [*args, "--out", str(root / "whole")]).exit_code == 0
    whole, cut = (load_checkpoint(root / folder / "last.pt", network) for folder in ("whole", "cut"))
    return whole, cut


def _main() -> None:
    step, sig, rank = int(sys.argv[1]), getattr(signal, sys.argv[2]), int(sys.argv[3])
    original = engine.Run.end_step

    def end_step(run, *args, **kwargs):
        if run.step + 1 == step and run.world.rank == rank:
            os.kill(os.getpid(), sig)
        return original(run, *args, **kwargs)

    engine.Run.end_step = end_step  # type: ignore[method-assign]
    from training.cli import app

    app(sys.argv[4:], prog_name="training")


if __name__ == "__main__":
    _main()
