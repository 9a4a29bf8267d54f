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
