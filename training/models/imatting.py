"""The interactive matting network (thesis Ch. 5.2.1) and its start from a trained FBA model.

The network is :class:`training.models.FBANet` configured, not a new class: ``in_channels = 9``
(RGB + the 6 distance-Gaussian maps of the clicks, early fusion) and ``encoder_masks = False``
(the two sparse FG/BG masks go to the decoder's guide only, as the FBA trimap masks do). The
output is FBA's: alpha, F and B.

"We propose to start our training based on the pre-trained matting network" (Ch. 5.2.2):
:func:`init_from_fba` copies an FBA checkpoint's weights tensor by tensor, matched by name and
shape. The one tensor whose shape must differ is the stem convolution (11 input channels in
FBA, 9 here); it is adapted by *channel name*: RGB and the six maps keep their FBA filters (the
maps are the same encoding, of a trimap there and of clicks here), the FBA's two mask channels
are dropped, any channel FBA did not have starts at zero. Every other tensor is either copied
bit for bit or listed in the report with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from training.checkpoint import CheckpointError, load_checkpoint
from training.models.fba import FBAConfig, FBANet

NETWORK = "imatting"
"""The ``network`` name of interactive matting checkpoints."""
SOURCE_NETWORK = "fba"
STEM = "encoder.conv1.weight"


def input_channel_names(cfg: FBAConfig) -> list[str]:
    """Names of the encoder's input channels in the order :class:`FBANet` concatenates them."""
    masks = ["mask_fg", "mask_bg"] if cfg.encoder_masks else []
    n_maps = cfg.in_channels - 3 - len(masks)
    if n_maps < 0:
        raise ValueError(f"model config in_channels={cfg.in_channels} leaves no room for RGB"
                         f"{' and the two masks' if masks else ''}")
    return ["r", "g", "b", *masks, *(f"map_{k}" for k in range(n_maps))]


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_from_fba` did with each tensor (names as in the state dicts)."""

    source: str
    loaded: tuple[str, ...]
    adapted: tuple[str, ...]
    not_loaded: tuple[str, ...]
    unused: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"init from {self.source}: {len(self.loaded)} tensors loaded unchanged, "
                 f"{len(self.adapted)} adapted, {len(self.not_loaded)} not loaded, "
                 f"{len(self.unused)} in the checkpoint unused"]
        lines += [f"  adapted: {a}" for a in self.adapted]
        lines += [f"  not loaded (kept at initialisation): {n}" for n in self.not_loaded]
        lines += [f"  unused: {u}" for u in self.unused]
        return "\n".join(lines)


def adapt_stem(weight: torch.Tensor, source_names: list[str], target_names: list[str]) -> torch.Tensor:
    """The stem kernel for ``target_names`` input channels: each copied from the source channel of
    the same name, zero where the source has none."""
    out = weight.new_zeros((weight.shape[0], len(target_names), *weight.shape[2:]))
    for j, name in enumerate(target_names):
        if name in source_names:
            out[:, j] = weight[:, source_names.index(name)]
    return out


def init_from_fba(net: FBANet, path: str | Path) -> InitReport:
    """Load FBA checkpoint ``path`` into ``net`` (in place); see the module notes.

    A checkpoint of another network, or one of which fewer than half of ``net``'s tensors fit (an
    FBA network of another size: a partial start that would only look like one), is a
    :class:`~training.checkpoint.CheckpointError` naming the file.
    """
    state = load_checkpoint(path, SOURCE_NETWORK)
    try:
        source_cfg = FBAConfig.from_dict(state["model_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path}: its model config is not an FBA config ({exc})") from None
    source = state["model"]
    target = net.state_dict()
    new = dict(target)
    loaded, adapted, not_loaded = [], [], []
    for key, want in target.items():
        have = source.get(key)
        if have is None:
            not_loaded.append(f"{key}: not in the checkpoint")
        elif key == STEM and have.shape[0] == want.shape[0] and have.shape[2:] == want.shape[2:]:
            src_names, dst_names = input_channel_names(source_cfg), input_channel_names(net.config)
            new[key] = adapt_stem(have.to(want.dtype), src_names, dst_names)
            if src_names == dst_names:
                loaded.append(key)
            else:
                dropped = [n for n in src_names if n not in dst_names]
                zeroed = [n for n in dst_names if n not in src_names]
                adapted.append(f"{key}: input channels {have.shape[1]} -> {want.shape[1]} matched by name"
                               + (f", dropped {', '.join(dropped)}" if dropped else "")
                               + (f", zero-initialised {', '.join(zeroed)}" if zeroed else ""))
        elif have.shape == want.shape:
            new[key] = have.to(want.dtype)
            loaded.append(key)
        else:
            not_loaded.append(f"{key}: checkpoint {tuple(have.shape)}, network {tuple(want.shape)}")
    if 2 * (len(loaded) + len(adapted)) < len(target):
        raise CheckpointError(f"checkpoint {path}: only {len(loaded) + len(adapted)} of the network's {len(target)} "
                              f"tensors fit (first mismatch: {not_loaded[0]}); is its [model] config another size?")
    net.load_state_dict(new)
    unused = tuple(k for k in source if k not in target)
    return InitReport(str(path), tuple(loaded), tuple(adapted), tuple(not_loaded), unused)
