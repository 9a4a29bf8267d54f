"""``training import-weights``: a published state dict file -> an ordinary checkpoint of ours.

The file is read with ``torch.load(weights_only=True)`` (nothing in it runs), unwrapped
(``{"state_dict": ...}`` / ``{"model": ...}``, a ``module.`` prefix), mapped key by key and shape by
shape onto our network with the published config (:mod:`training.models.published`), and written
with :func:`training.checkpoint.save_checkpoint` like a checkpoint a fit wrote: ``network``,
``model_config``, ``model`` and ``config`` (the shipped ``published`` run config: the thesis
recipe with the published ``[model]`` table, so ``training predict``, ``evaluate``, ``demo`` and ``fit ... --init`` take it
as they take one of ours), plus ``imported_from`` (file name and sha256). Nothing is written when
the file is not that network's state dict. Nothing is downloaded: the user brings the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.files import file_digest
from training.checkpoint import save_checkpoint
from training.config import config_to_dict
from training.models.pretrained import read_state_dict
from training.models.published import NAMES, PUBLISHED, map_state_dict


@dataclass(frozen=True)
class ImportResult:
    """What was written: the checkpoint, how many tensors, the source file's sha256."""

    path: Path
    tensors: int
    sha256: str

    def __str__(self) -> str:
        return f"wrote {self.path}: {self.tensors} tensors, source sha256 {self.sha256[:12]}"


def run_config(network: str) -> dict[str, dict]:
    """The shipped ``published`` run config of ``network`` as tables (its ``[model]`` is
    :data:`training.models.published.PUBLISHED`'s config, a test holds them equal)."""
    if network == "fba":
        from training.loops.fba import load_fba_config as load
    else:
        from training.loops.iseg import load_iseg_config as load
    tables = config_to_dict(load("published"))
    return {**tables, "model": PUBLISHED[network].config.to_dict()}


def import_weights(network: str, source: str | Path, out: str | Path) -> ImportResult:
    """Map the published ``network`` (``fba`` or ``iseg``) state dict in ``source`` and write the
    checkpoint ``out``; a ValueError (one line, naming the first bad key or shape) otherwise."""
    if network not in PUBLISHED:
        raise ValueError(f"import-weights takes {' or '.join(PUBLISHED)}, got {network!r}")
    source = Path(source)
    label = f"published {NAMES[network]} weights"
    state = read_state_dict(source, label)
    try:
        model = map_state_dict(network, state)
    except ValueError as exc:
        raise ValueError(f"{label} {source}: {exc}") from None
    digest, _ = file_digest(source)
    payload = {"network": network, "model_config": PUBLISHED[network].config.to_dict(), "model": model,
               "config": run_config(network), "imported_from": {"file": source.name, "sha256": digest}}
    return ImportResult(save_checkpoint(out, payload), len(model), digest)
