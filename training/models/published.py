"""The published networks as configs of ours, and their state dicts in our key names.

Two public implementations of the thesis networks carry the weights every number in the field was
measured with: ``MarcoForte/FBA_Matting`` (``FBA.pth``) and
``MarcoForte/DeepInteractiveSegmentation`` (``InterSegSynthFT.pth``, "DIS" below). Both are our
networks with the config fields of ``docs/published.md`` set (:data:`PUBLISHED`), so a published
state dict maps onto ours tensor for tensor:

* names: the encoder's are the same (torchvision's ResNet names); the decoder's modules are
  renamed by prefix (``decoder.conv_up1.3.`` -> ``decoder.conv2.0.`` ...), every rule one pair;
* input channels: where our input order differs from the published one (the trimap and click
  channels are [FG, BG] / [positive, negative] here and [BG, FG] / [negative, positive] there,
  and some concatenations come in another order), the columns of the first convolution that reads
  them are permuted. A convolution with permuted input columns computes the same function, and
  weight standardisation (per output filter, over all its inputs) does not see the order.

Every key must be mapped and every shape must match; the first that does not is a
:class:`PublishedWeightsError` naming it, so a file that is another network's never half-loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from training.models.fba import FBAConfig, FBANet
from training.models.iseg import IsegNet, IsegNetConfig

_DECODER = [("decoder.conv_up1.0.", "decoder.conv1.0."), ("decoder.conv_up1.1.", "decoder.conv1.1."),
            ("decoder.conv_up1.3.", "decoder.conv2.0."), ("decoder.conv_up1.4.", "decoder.conv2.1."),
            ("decoder.conv_up2.0.", "decoder.conv3.0."), ("decoder.conv_up2.1.", "decoder.conv3.1."),
            ("decoder.conv_up3.0.", "decoder.conv4.0."), ("decoder.conv_up3.1.", "decoder.conv4.1."),
            ("decoder.conv_up4.0.", "decoder.conv5.0."), ("decoder.conv_up4.2.", "decoder.conv6.0."),
            ("decoder.conv_up4.4.", "decoder.conv7."), ("encoder.", "encoder.")]
# pyramid pooling branch b: published Sequential(pool, conv, GN, act), ours NormConv(conv, GN, act)
_PPM = [(f"decoder.ppm.{b}.{i + 1}.", f"decoder.ppm.branches.{b}.{i}.") for b in range(4) for i in range(2)]


@dataclass(frozen=True)
class PublishedNetwork:
    """One published network: ``network`` (our checkpoint family), the config of ours that computes
    it, the (published prefix, our prefix) renames and, by our key, the column order of inputs:
    ``ours[:, k] = published[:, columns[k]]``."""

    network: str
    config: FBAConfig | IsegNetConfig
    build: Callable[[], nn.Module]
    renames: tuple[tuple[str, str], ...]
    columns: dict[str, tuple[int, ...]]

    def our_key(self, key: str) -> str | None:
        """Our name for a published key (the longest matching prefix), None when no rule fits."""
        rules = [(p, o) for p, o in self.renames if key.startswith(p)]
        if not rules:
            return None
        published, ours = max(rules, key=lambda rule: len(rule[0]))
        return ours + key[len(published):]

    def published_key(self, key: str) -> str:
        """The published name of one of our keys (for messages about a missing tensor)."""
        published, ours = max(((p, o) for p, o in self.renames if key.startswith(o)), key=lambda rule: len(rule[1]))
        return published + key[len(ours):]


FBA_CONFIG = FBAConfig(norm_order="norm_act", weight_standardisation="fba", fusion_in_forward=True)
"""``FBA.pth``'s network: the thesis structure, conv -> GN -> LeakyReLU, the FBA code's weight
standardisation and the fusion inside the forward."""

DIS_CONFIG = IsegNetConfig(interaction_channels=(32, 64, 128, 256, 256, 256), norm_order="norm_act",
                           weight_standardisation="dis", guided_eps=1e-8, click_sigmas=(0.02, 0.08, 0.16),
                           click_side=352, guide="image_clicks", guide_channels=64, force_clicks_before_filter=True)
"""``InterSegSynthFT.pth``'s network (``use_mask_input=True, use_usr_encoder=True, gf=True``)."""

PUBLISHED = {
    "fba": PublishedNetwork(
        "fba", FBA_CONFIG, lambda: FBANet(FBA_CONFIG), tuple(_DECODER + _PPM),
        # stem: published [image_n, 6 maps BG then FG, trimap BG, FG]; ours [image_n, trimap FG, BG, maps FG, BG]
        {"encoder.conv1.weight": (0, 1, 2, 10, 9, 6, 7, 8, 3, 4, 5),
         # decoder guide: published [x 64, image_n, image, trimap BG, FG]; ours trimap [FG, BG]
         "decoder.conv5.0.weight": (*range(70), 71, 70)}),
    "iseg": PublishedNetwork(
        "iseg", DIS_CONFIG, lambda: IsegNet(DIS_CONFIG),
        tuple(_DECODER + _PPM + [(f"decoder.usr_encoder.conv{k + 1}.", f"interaction.layers.{k}.0.") for k in range(6)]
              + [("decoder.guided_map_conv1.", "refine.guide.0."), ("decoder.guided_map_conv2.", "refine.guide.2.")]),
        # click maps: published [negative x3, positive x3]; ours [positive x3, negative x3]
        {"encoder.conv1.weight": (0, 1, 2, 6, 7, 8, 3, 4, 5),
         # interaction stream: published [maps, prev_mask]; ours [prev_mask, maps]
         "interaction.layers.0.0.weight": (6, 3, 4, 5, 0, 1, 2),
         "decoder.conv5.0.weight": (*range(67), 70, 71, 72, 67, 68, 69),
         # guide: published [image_n, negative s.02, positive s.02]; ours [image_n, positive, negative]
         "refine.guide.0.weight": (0, 1, 2, 4, 3)}),
}
"""The published networks by our network name (``training import-weights fba|iseg``)."""

NAMES = {"fba": "FBA_Matting (FBA.pth)", "iseg": "DeepInteractiveSegmentation (InterSegSynthFT.pth)"}


class PublishedWeightsError(ValueError):
    """A state dict that is not the published network's; the message names the first bad key."""


def map_state_dict(network: str, source: dict[str, Tensor]) -> dict[str, Tensor]:
    """``source`` (a published state dict, unwrapped, no ``module.`` prefix) in our key names and
    input-channel order, dtype kept; see the module notes."""
    spec = PUBLISHED[network]
    target = spec.build().state_dict()
    out: dict[str, Tensor] = {}
    for key, tensor in source.items():
        ours = spec.our_key(key)
        if ours is None or ours not in target:
            raise PublishedWeightsError(f"unexpected key {key!r}: not in the published {NAMES[network]} network")
        if tuple(tensor.shape) != tuple(target[ours].shape):
            raise PublishedWeightsError(f"{key!r} has shape {tuple(tensor.shape)}, the published {NAMES[network]} "
                                        f"network has {tuple(target[ours].shape)}")
        columns = spec.columns.get(ours)
        out[ours] = tensor[:, list(columns)].contiguous() if columns else tensor
    missing = [k for k in target if k not in out]
    if missing:
        raise PublishedWeightsError(f"missing key {spec.published_key(missing[0])!r} of the published "
                                    f"{NAMES[network]} network ({len(missing)} missing)")
    return out


def published_model(network: str, state: dict[str, Tensor], dtype: torch.dtype = torch.float32) -> nn.Module:
    """Our network with the published config, ``state`` (a published state dict) loaded, in eval mode."""
    model = PUBLISHED[network].build().to(dtype)
    model.load_state_dict(map_state_dict(network, state))
    return model.eval()
