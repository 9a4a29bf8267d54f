"""Load local ImageNet ResNet-50 weights (torchvision- or timm-style state dicts) into the encoder.

Nothing is downloaded and nothing in the file is executed (``torch.load(weights_only=True)``).

The start the thesis used is a GroupNorm + WS ResNet-50 (Qiao et al.'s ImageNet weights): the same
key names as torchvision's with GroupNorm in the ``bn*`` slots and no running statistics. Such a
file is what the encoder is, and loads exactly: every tensor where it was trained (the report
says "GroupNorm + WS, exact"). A file with running statistics is a BatchNorm network, and loads
by the decisions below (the report says "BatchNorm, approximate").

Decisions, because those files come from BatchNorm networks while the encoder uses GN + WS:

* conv weights load as they are (WS standardises them at run time anyway);
* ``bn*.weight``/``bn*.bias`` load into the GroupNorm affine parameters: both are the per-channel
  scale and shift applied after normalisation, so they are the closest available start;
* ``running_mean``/``running_var``/``num_batches_tracked`` are skipped: GroupNorm computes its
  statistics per sample and has nowhere to put them. ``fc.*`` (the classifier) is skipped too;
* the stem convolution's extra input channels (trimap, distance or click maps) start at zero, so
  the RGB channels carry the pretrained filters. (Under WS the zero columns do shift each filter's
  mean, so the stem is a close rather than exact copy; this is how the thesis networks start too.)

torchvision's and timm's ``resnet50`` use the same key names (classifier ``fc`` in both); a
``module.`` prefix (DataParallel) and a ``{"state_dict": ...}`` or ``{"model": ...}`` wrapper are
accepted. Anything else that does not fit the encoder is a ``ValueError`` naming the key.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

_WRAPPERS = ("state_dict", "model")
_PREFIX = "module."


@dataclass(frozen=True)
class PretrainedReport:
    """Which file keys went into the encoder and which were left out (and why, by name)."""

    loaded: tuple[str, ...]
    skipped: tuple[str, ...]
    zero_initialised_channels: int
    batchnorm: bool = True
    """Whether the file is a BatchNorm network (it holds running statistics): then the load is
    the approximation of the module notes; a GroupNorm + WS file loads exactly."""

    def __str__(self) -> str:
        kind = ("BatchNorm, approximate: its scale and shift go into GroupNorm, running statistics skipped"
                if self.batchnorm else "GroupNorm + WS, exact")
        return (f"loaded {len(self.loaded)} tensors ({kind}), skipped {len(self.skipped)} "
                f"({'BatchNorm running statistics, ' if self.batchnorm else ''}classifier), "
                f"{self.zero_initialised_channels} extra input channels zero-initialised")


def read_state_dict(path: str | Path, what: str = "pretrained weights") -> dict[str, torch.Tensor]:
    """The tensors of a state dict file, unwrapped and without a ``module.`` prefix; errors are
    one line starting with ``what`` and the path."""
    try:
        obj = torch.load(Path(path), map_location="cpu", weights_only=True)
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or exc}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{what} {path}: not a plain tensor state dict ({first_line})") from None
    for key in _WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{what} {path}: expected a dict of tensors (a state dict)")
    return {k.removeprefix(_PREFIX): v for k, v in obj.items()}


def load_encoder_weights(encoder: nn.Module, path: str | Path) -> PretrainedReport:
    """Copy a ResNet-50 ImageNet state dict into ``encoder`` (in place); see the module notes.

    Every encoder tensor must be in the file with its shape (the stem may have fewer input
    channels than the encoder): a partial load almost always means the wrong file.
    """
    source = read_state_dict(path)
    target = encoder.state_dict()
    missing = [k for k in target if k not in source]
    if missing:
        raise ValueError(f"pretrained weights {path}: {len(missing)} encoder tensors missing, "
                         f"e.g. {missing[0]!r} (is it a ResNet-50 state dict?)")
    stem_key = "conv1.weight"
    new: dict[str, torch.Tensor] = {}
    zero_channels = 0
    for key, want in target.items():
        have = source[key]
        if key == stem_key and have.ndim == 4 and have.shape[0] == want.shape[0] \
                and have.shape[2:] == want.shape[2:] and have.shape[1] <= want.shape[1]:
            widened = torch.zeros_like(want)
            widened[:, :have.shape[1]] = have.to(want.dtype)
            zero_channels = want.shape[1] - have.shape[1]
            new[key] = widened
        elif have.shape == want.shape:
            new[key] = have.to(want.dtype)
        else:
            raise ValueError(f"pretrained weights {path}: {key!r} has shape {tuple(have.shape)}, "
                             f"the encoder needs {tuple(want.shape)}")
    encoder.load_state_dict(new)
    running = any(k.endswith((".running_mean", ".running_var")) for k in source)
    return PretrainedReport(loaded=tuple(new), skipped=tuple(k for k in source if k not in target),
                            zero_initialised_channels=zero_channels, batchnorm=running)
