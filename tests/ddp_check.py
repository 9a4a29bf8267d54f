"""The DDP equivalence check every training loop's test runs: 2 gloo ranks at batch 1 against one
process at batch 2 (the same samples), and one process at batch 1 as the check's teeth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from training.checkpoint import load_checkpoint


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
"""Two local ranks; what follows is ``-m training ARGS`` or a script and its arguments."""


def ddp_env() -> dict[str, str]:
    """This process's environment without a torchrun world of its own, one torch thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def ddp_weight_gaps(tmp_path: Path, network: str, args: Callable[[Path, int], list[str]]) -> tuple[float, float]:
    """Run ``python -m training <args(out, batch)>`` as 2 ranks at batch 1 (torchrun, gloo), as one
    process at batch 2 and as one at batch 1; returns the largest weight difference of the
    last checkpoints, (2 ranks vs batch 2, batch 1 vs batch 2)."""
    env = ddp_env()
    torchrun = [*TORCHRUN, "-m", "training"]
    single = [sys.executable, "-m", "training"]
    runs = {"ddp": torchrun + args(tmp_path / "ddp", 1), "single": single + args(tmp_path / "single", 2),
            "one": single + args(tmp_path / "one", 1)}
    for name, cmd in runs.items():
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
    ddp, two, one = (load_checkpoint(tmp_path / d / "last.pt", network)["model"] for d in ("ddp", "single", "one"))

    def gap(state: dict) -> float:
        return max((two[k] - v).abs().max().item() for k, v in state.items() if v.is_floating_point())

    return gap(ddp), gap(one)
