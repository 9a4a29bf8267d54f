"""Predict speed at 1920x1080 on CPU: torch eager against its exports (run by hand, not by pytest).

    python tests/bench/predict.py                       # thesis-size FBA and iseg, random weights
    python tests/bench/predict.py --networks iseg --repeats 3 --config tiny   # a quick look
    python tests/bench/predict.py --size 540x960 --warmup 0    # thesis size where 1080p is too slow

For each network the thesis-size checkpoint (random weights: timing does not depend on them) is
written once and exported once to ``.torchscript`` and ``.onnx``; then each variant runs in its
own process, so its peak resident memory (``ru_maxrss``) is its own:

* ``eager``: the predictor on the checkpoint as it was before the export work (direct
  convolutions, weight standardisation recomputed each call): the baseline of every ratio;
* ``folded``: ``--conv direct``, WS folded into plain convolutions (what predict does now off the
  default);
* ``winograd``: ``--conv winograd``: WS folded, the 3x3 convolutions by Winograd
  (:mod:`training.models.winograd`) and the pyramid pooling folded into the convolution after it
  (:mod:`training.models.pyramid_fold`);
* ``predict``: what ``training predict`` runs on the CPU by default: ``winograd`` with freed
  memory kept for reuse while the network runs (:mod:`training.inference.heap`; the three
  variants above run with glibc's default instead, as predict did before);
* ``torchscript`` / ``onnxruntime``: the predictor on the exported files.

Timed is one whole ``predict`` call (FBA: image and trimap in, distance maps, network, fusion,
alpha/F/B out; iseg: one click on the image, click maps, network, forcing), after one warm-up
call, as the median of ``--repeats``; the variants take turns round by round, so machine load
hits them alike. Ratios are against ``eager`` of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = ("eager", "folded", "winograd", "predict", "torchscript", "onnxruntime")


def _scene(network: str, size: tuple[int, int]) -> tuple[np.ndarray, object]:
    """An image of ``size`` (H, W) and its user input (a trimap with a wide unknown band, or one click)."""
    h, w = size
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if network == "iseg":
        return image, [(h // 2, w // 2, True)]
    trimap = np.zeros(size, np.uint8)
    trimap[h // 5:h * 4 // 5, w // 4:w * 3 // 4] = 128
    trimap[h // 3:h * 2 // 3, w // 3:w * 2 // 3] = 255
    return image, trimap


def run_variant(network: str, variant: str, files: dict[str, str], size: tuple[int, int], warmup: int) -> dict:
    """In a child process: load the variant, ``warmup`` untimed calls, then one timed call."""
    import torch

    from training.checkpoint import load_checkpoint, restore_network
    from training.inference import heap, load_predictor
    from training.networks import NETWORKS

    torch.set_num_threads(os.cpu_count() or 1)
    if variant in ("eager", "folded", "winograd"):
        heap._glibc = lambda: None             # kept_memory() then changes nothing: malloc as before
    path = {"torchscript": files["torchscript"], "onnxruntime": files["onnx"]}.get(variant, files["pt"])
    conv = {"winograd": "winograd", "predict": "winograd", "eager": "direct", "folded": "direct"}.get(variant, "auto")
    predictor = load_predictor(path, device="cpu", conv=conv)
    if variant == "eager":                     # the network as restored, standardising its weights per call
        state, parts = load_checkpoint(path), NETWORKS[network].parts()
        holder = predictor.matting if hasattr(predictor, "matting") else predictor
        holder.net = restore_network(path, state, parts.model, parts.config).eval()
    image, user = _scene(network, size)
    call = ((lambda: predictor.predict_iseg(image, user, np.zeros(size, np.float32))) if network == "iseg"
            else (lambda: predictor.predict(image, user)))
    for _ in range(warmup):
        call()
    start = time.perf_counter()
    call()
    times = [time.perf_counter() - start]
    return {"times": times, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def prepare(network: str, config: str, folder: Path) -> dict[str, str]:
    """The random-weight checkpoint and its two exports."""
    import torch

    from training.checkpoint import model_payload, save_checkpoint
    from training.config import config_to_dict
    from training.inference.export import export_checkpoint
    from training.networks import NETWORKS

    parts = NETWORKS[network].parts()
    cfg = parts.load_config(config, ())
    torch.manual_seed(0)
    files = {"pt": str(save_checkpoint(folder / f"{network}.pt", model_payload(
        network, cfg["model"].to_dict(), parts.model(cfg["model"]), config_to_dict(cfg))))}
    for kind in ("torchscript", "onnx"):
        files[kind] = str(export_checkpoint(files["pt"], folder / f"{network}.{kind}").path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default="fba,iseg")
    parser.add_argument("--config", default="thesis", help="thesis (the timed networks) or tiny (a quick check)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per variant (rounds)")
    parser.add_argument("--size", default="1080x1920", help="HxW of the image")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before the timed one, per process")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which of " + ", ".join(VARIANTS)
                        + " to time (eager, the baseline, always runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        network, variant, files, size, warmup = json.loads(args.child)
        print(json.dumps(run_variant(network, variant, files, tuple(size), warmup)))
        return
    h, w = (int(v) for v in args.size.lower().split("x"))
    print(f"load average at start: {os.getloadavg()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for network in args.networks.split(","):
            files = prepare(network, args.config, Path(tmp))
            variants = ["eager", *(v for v in VARIANTS if v != "eager" and v in args.variants.split(","))]
            results: dict[str, list[dict]] = {v: [] for v in variants}
            for _ in range(args.repeats):
                for variant in variants:
                    out = subprocess.run([sys.executable, __file__, "--child", json.dumps([network, variant, files, [h, w], args.warmup])],
                                         check=True, capture_output=True, text=True, env=os.environ)
                    results[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
            eager = statistics.median(t for r in results["eager"] for t in r["times"])
            print(f"\n{network} ({args.config}), {w}x{h}, {args.repeats} rounds, warm-up {args.warmup}, "
                  f"load average now {os.getloadavg()[0]:.1f}")
            print("| variant | s / image (median) | frames/s | vs eager | peak RSS MB |")
            print("|---|---|---|---|---|")
            for variant in variants:
                median = statistics.median(t for r in results[variant] for t in r["times"])
                peak = max(r["maxrss_mb"] for r in results[variant])
                print(f"| {variant} | {median:.2f} | {1 / median:.3f} | {eager / median:.2f}x | {peak:.0f} |")


if __name__ == "__main__":
    main()
