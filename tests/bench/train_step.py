"""FBA training-step speed (run by hand, not by pytest).

    python tests/bench/train_step.py                          # CPU, 320x320, batch 1, fp32 and bf16
    python tests/bench/train_step.py --device cuda --amp fp16 # the same on a GPU
    python tests/bench/train_step.py iseg --iseg-size 352     # interactive segmentation click-steps

``step``: seconds per iteration (forward + fba_loss + backward + RAdam step) of the full FBA
network against a plain implementation built here from the same layers (a naive WS conv that
standardises with separate mean/sub/std/div ops, stock ``nn.GroupNorm``), same weights, same
batch. The two are timed alternately, step by step, so machine load hits both alike; the table
shows medians after warm-up, the ratio ours / plain (target: <= 1) and the fastest step of
each (on a shared machine the minimum is the least disturbed figure).

Each section is a function of the parsed arguments that prints its own table, listed in
``SECTIONS``; later sections (the loader's samples/s) are added there.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.loops.engine import AMP_DTYPES
from training.loops.iseg import load_iseg_config
from training.losses import fba_loss
from training.models import FBAConfig, FBANet
from training.models.gnws import WSConv2d

TINY_ISEG = load_iseg_config("tiny")["model"]


class PlainWSConv2d(nn.Conv2d):
    """Weight standardisation the straightforward way: four tensor ops on the weight per call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        w = w - w.mean(dim=(1, 2, 3), keepdim=True)
        std = w.view(w.size(0), -1).std(dim=1).view(-1, 1, 1, 1) + 1e-5
        return F.conv2d(x, w / std, self.bias, self.stride, self.padding, self.dilation, self.groups)


def plain_copy(net: nn.Module) -> nn.Module:
    """``net`` with every WSConv2d swapped for PlainWSConv2d (weights shared by value)."""
    plain = copy.deepcopy(net)
    for module in list(plain.modules()):
        for name, child in module.named_children():
            if isinstance(child, WSConv2d):
                swap = PlainWSConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                     child.padding, child.dilation, child.groups, child.bias is not None)
                swap.load_state_dict(child.state_dict())
                setattr(module, name, swap)
    return plain


def synthetic_batch(size: int, device: str) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    """A disc-shaped alpha with a soft edge, its trimap, random colours and maps."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    r = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2).sqrt()
    alpha = ((size / 3 - r) / 10 + 0.5).clamp(0, 1)[None, None]
    trimap2 = torch.cat([(alpha == 1).float(), (alpha == 0).float()], 1)
    fg, bg = torch.rand(1, 3, size, size, generator=g), torch.rand(1, 3, size, size, generator=g)
    image = alpha * fg + (1 - alpha) * bg
    maps = torch.rand(1, 6, size, size, generator=g)
    batch = {"alpha": alpha, "fg": fg, "bg": bg, "composite": image, "trimap2": trimap2, "fb_valid": True}
    batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
    return (image.to(device), trimap2.to(device), maps.to(device)), batch


def precisions(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(label, ``--amp`` value) of each precision a section measures: fp32, then ``--amp`` unless none."""
    return [("fp32", "none")] + ([] if args.amp == "none" else [(args.amp, args.amp)])


def conditions(args: argparse.Namespace) -> str:
    """What every section's heading states about how it was measured."""
    return (f"{args.device}, {torch.get_num_threads()} threads, warm-up {args.warmup}, "
            f"median of {args.iters}")


def make_step(net: nn.Module, inputs, batch, device: str, amp: str):
    """One closure = one training iteration at ``amp`` (none, bf16, fp16); returns seconds (device
    synchronised)."""
    opt = torch.optim.RAdam(net.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler(device) if amp == "fp16" else None
    ctx = (lambda: torch.autocast(device, dtype=AMP_DTYPES[amp])) if amp != "none" else nullcontext

    def step() -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with ctx():
            out = net(*inputs)
        loss, _ = fba_loss(out, batch)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0
    return step


def bench_step(args: argparse.Namespace) -> None:
    inputs, batch = synthetic_batch(args.size, args.device)
    ours = FBANet(FBAConfig()).to(args.device).train()
    plain = plain_copy(ours)
    print(f"FBA train step, {args.size}x{args.size}, batch 1, {conditions(args)}")
    print(f"{'precision':<10}{'ours s/it':>11}{'plain s/it':>12}{'ours it/s':>11}{'ours/plain':>12}"
          f"{'min ours':>10}{'min plain':>11}")
    for label, amp in precisions(args):
        steps = {"ours": make_step(ours, inputs, batch, args.device, amp),
                 "plain": make_step(plain, inputs, batch, args.device, amp)}
        times: dict[str, list[float]] = {k: [] for k in steps}
        for i in range(args.warmup + args.iters):
            for k, step in steps.items():
                dt = step()
                if i >= args.warmup:
                    times[k].append(dt)
        mo, mp = statistics.median(times["ours"]), statistics.median(times["plain"])
        print(f"{label:<10}{mo:>11.3f}{mp:>12.3f}{1 / mo:>11.2f}{mo / mp:>12.2f}"
              f"{min(times['ours']):>10.3f}{min(times['plain']):>11.3f}", flush=True)


# -- loader ----------------------------------------------------------------------------
def _fg_full_bank(objects: str, out: str) -> None:
    """A copy of an objects bank with ``fg_full`` = its fg at 16 bit: not a refit, but the same
    fields, dtypes and code path as one (the loader's speed does not depend on the colours)."""
    from datagen.runner import Execution
    from datagen.shards.build import write_dataset
    from datagen.shards import open_dataset

    source = open_dataset(objects)
    samples = [dict(s, fg_full=s["fg"].astype("uint16") * 257) for s in source]
    for sample in samples:
        sample.pop("recipe", None)
    write_dataset(out, "objects", samples, _Same(), execution=Execution(progress=False))


class _Same:
    def __call__(self, sample: dict) -> dict:
        return sample


def bench_loader(args: argparse.Namespace) -> None:
    """Samples/s of one loader worker process: online compositing onto bank backgrounds, crops of
    640/480/320 centred on unknown pixels resized to ``--size``, 50% second foreground, every
    second sample 2x, trimap, distance maps (the thesis recipe, ``MattingDataConfig()``). Demo
    objects of 800x800 (every crop size applies) and 720x960 backgrounds; one process, cv2 and
    torch on one thread, as in a DataLoader worker. CPU seconds are reported beside wall seconds:
    on a shared machine the CPU figure is the one a free core would give. Then a real DataLoader
    with 2 workers, batch 1."""
    import tempfile

    import cv2
    from torch.utils.data import DataLoader

    from datagen.demo.banks import build_background_bank, build_object_bank
    from datagen.runner import Execution
    from training.data import MattingData, MattingDataConfig

    cv2.setNumThreads(1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    per_round = 40
    with tempfile.TemporaryDirectory() as tmp:
        build_object_bank(f"{tmp}/objects", n=6, size=(800, 800), execution=Execution(progress=False))
        build_background_bank(f"{tmp}/backgrounds", n=6, size=(720, 960), execution=Execution(progress=False))
        _fg_full_bank(f"{tmp}/objects", f"{tmp}/objects_full")
        cfg = MattingDataConfig(out_size=args.size)
        print(f"\nloader, {args.size}x{args.size} output, thesis recipe, 1 process, median of {args.iters} rounds "
              f"of {per_round} samples")
        print(f"{'colour source':<24}{'wall samples/s':>16}{'cpu samples/s':>15}")
        for label, objects in (("fg_full (uint16)", "objects_full"), ("fg (premultiplied)", "objects")):
            data = MattingData(cfg, objects=f"{tmp}/{objects}", backgrounds=f"{tmp}/backgrounds", seed=0)
            order = np.random.default_rng(0).permutation(len(data))
            for index in order[:12]:  # first touch of each object: its crop centres are cached
                data[int(index)]
            wall, cpu = [], []
            for r in range(args.iters):
                t0, c0 = time.perf_counter(), time.process_time()
                for index in order[12 + r * per_round:12 + (r + 1) * per_round]:
                    data[int(index)]
                wall.append(per_round / (time.perf_counter() - t0))
                cpu.append(per_round / (time.process_time() - c0))
            print(f"{label:<24}{statistics.median(wall):>16.1f}{statistics.median(cpu):>15.1f}", flush=True)
        n = 4 * per_round
        loader = DataLoader(data, batch_size=1, sampler=order[:n].tolist(), num_workers=2)
        t0 = time.perf_counter()
        for _ in loader:
            pass
        print(f"DataLoader, 2 workers, batch 1 (incl. start-up): {n / (time.perf_counter() - t0):.1f} samples/s")
    torch.set_num_threads(threads)


# -- interactive matting ------------------------------------------------------------------
class TimedRobot:
    """A context manager: within it, ``module.name`` (a click robot the loops look up there) is
    replaced by a wrapper that adds the seconds of each call to ``.seconds``; on leaving, the
    original is put back."""

    def __init__(self, module, name: str) -> None:
        self.module, self.name, self.original, self.seconds = module, name, getattr(module, name), 0.0

    def __enter__(self) -> TimedRobot:
        setattr(self.module, self.name, self)
        return self

    def __exit__(self, *exc_info) -> None:
        setattr(self.module, self.name, self.original)

    def __call__(self, *args):
        t0 = time.perf_counter()
        try:
            return self.original(*args)
        finally:
            self.seconds += time.perf_counter() - t0


def scratch_run(network: str, net: torch.nn.Module, device: torch.device, amp: str):
    """The training loops' own run object (RAdam, AMP, fp16 scaler) around ``net``, logging to a
    scratch folder: what a slot function of a loop steps through."""
    import tempfile

    from training.config import TrainConfig
    from training.distributed import World
    from training.loops.engine import FitOptions, Trainee, prepare_run

    return prepare_run(Trainee(network, net, {}, {}), TrainConfig(lr=1e-5, num_workers=0), tempfile.mkdtemp(),
                       World(0, 1, 0, device), per_epoch=1, options=FitOptions(amp=amp, progress=False))


def time_slots(slot, robot: TimedRobot, args: argparse.Namespace) -> tuple[float, float]:
    """Median seconds of ``slot(i)`` over ``args.iters`` calls after ``args.warmup``, and the
    median share of them spent in ``robot``."""
    times, shares = [], []
    for i in range(args.warmup + args.iters):
        robot.seconds = 0.0
        if args.device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        slot(i)
        if args.device == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
            shares.append(robot.seconds / times[-1])
    return statistics.median(times), statistics.median(shares)


def bench_imatting(args: argparse.Namespace) -> None:
    """Seconds per step of each task of the interactive matting schedule (one image through its
    clicks: Task 1 4 clicks, 4 updates; Task 2 6 clicks, updates from the 4th = 3; Task 3 one
    update), the full 9-channel network, robot and click encodings included; and the share of a
    step spent in the matting robot."""
    from dataclasses import replace

    import training.loops.imatting as imatting
    from training.loops.imatting import ScheduleConfig, run_slot

    (image, trimap2, maps), batch = synthetic_batch(args.size, args.device)
    batch = {**batch, "image": image, "trimap_maps": maps, "fb_valid": torch.ones_like(batch["alpha"])}
    seg_batch = {"image": image, "mask": (batch["alpha"] > 0.5).float(), "valid": torch.ones_like(batch["alpha"])}
    net = FBANet(replace(FBAConfig(), in_channels=9, encoder_masks=False)).to(args.device).train()
    schedule = ScheduleConfig(imatting_clicks=(6, 6))
    device = torch.device(args.device)
    print(f"imatting steps, {args.size}x{args.size}, batch 1, {conditions(args)}")
    print(f"{'precision':<10}{'task':<10}{'s/step':>9}{'s/update':>10}{'robot share':>13}")
    with TimedRobot(imatting, "next_click_matting") as robot_time:
        for label, amp in precisions(args):
            run = scratch_run("imatting", net, device, amp)
            for task, b in (("seg", seg_batch), ("imatting", batch), ("trimap", {**batch, "trimap2": trimap2})):
                updates = []          # optimiser updates per slot, as run_slot reports them

                def slot(i: int) -> None:
                    updates.append(run_slot(task, run, b, schedule, (6.4, 25.6, 51.2), 0, 0, i, device)[0])

                med, robot_share = time_slots(slot, robot_time, args)
                share = f"{robot_share:>12.1%}" if task != "trimap" else f"{'-':>12}"
                print(f"{label:<10}{task:<10}{med:>9.3f}{med / updates[-1]:>10.3f} {share}", flush=True)


# -- interactive segmentation ------------------------------------------------------------
def _iseg_scene(size: int) -> tuple[torch.Tensor, np.ndarray]:
    """An ellipse object with a notch (so protocol L has more than one error region to choose
    from) over random colours: the image (1x3xHxW) and the int8 ground truth."""
    g = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    gt = (((yy - size / 2) / (size / 3)) ** 2 + ((xx - size / 2) / (size / 4)) ** 2 <= 1).astype(np.int8)
    gt[size // 2 - size // 16:size // 2 + size // 16, : size // 2] = 0
    colours = g.random((size, size, 3), dtype=np.float32) * 0.3
    image = np.where(gt[..., None] == 1, 0.6 + colours, colours).astype(np.float32)
    return torch.from_numpy(image.transpose(2, 0, 1))[None], gt


def bench_iseg(args: argparse.Namespace) -> None:
    """Seconds per click-step of interactive segmentation training at 352x352, through the loop's
    own slot function (:func:`training.loops.iseg.click_by_click`: robot L on the current
    prediction, click maps, forward, Eq. 3.1, backward, RAdam step; 4 clicks per image), for the
    thesis-size network and tiny; ``robot``: the share of a step spent in the robot (connected
    components and distance transforms; target < 10 %)."""
    import training.loops.iseg as iseg
    from training.models.iseg import IsegNet, IsegNetConfig

    size, clicks = args.iseg_size, 4
    image, gt = _iseg_scene(size)
    mask = torch.from_numpy(gt.astype(np.float32))[None, None]
    batch = {k: v.to(args.device) for k, v in {"image": image, "mask": mask, "valid": torch.ones_like(mask)}.items()}
    device = torch.device(args.device)
    print(f"\niseg click-steps, {size}x{size}, batch 1, {conditions(args)} images ({clicks} click-steps each)")
    print(f"{'network':<9}{'precision':<11}{'s/click-step':>13}{'steps/s':>9}{'robot':>8}")
    with TimedRobot(iseg, "next_click_largest_region") as robot_time:
        for name, cfg in (("thesis", IsegNetConfig()), ("tiny", TINY_ISEG)):
            net = IsegNet(cfg).to(device).train()
            for label, amp in precisions(args):
                run = scratch_run("iseg", net, device, amp)
                per_image, share = time_slots(lambda i: iseg.click_by_click(run, batch, clicks, cfg.click_sigmas),
                                              robot_time, args)
                med = per_image / clicks
                print(f"{name:<9}{label:<11}{med:>13.3f}{1 / med:>9.2f}{share:>8.1%}", flush=True)


SECTIONS = {"step": bench_step, "loader": bench_loader, "imatting": bench_imatting, "iseg": bench_iseg}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sections", nargs="*", metavar="SECTION", help=f"which to run (default all): {', '.join(SECTIONS)}")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--amp", default="bf16", choices=["bf16", "fp16", "none"],
                   help="mixed precision measured next to fp32 (fp16 uses a GradScaler; 'none': fp32 only)")
    p.add_argument("--size", type=int, default=320)
    p.add_argument("--iseg-size", type=int, default=352, help="crop side of the iseg section (the thesis's 352)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section {unknown[0]!r} (choose from {', '.join(SECTIONS)})")
    for name in args.sections or SECTIONS:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
