"""Seconds per click: SimpleClick's SPC from the per-sample model time the click loops record.

SimpleClick (and RITM before it) divides the elapsed time of a whole dataset run by the total
number of clicks over all samples (``get_time_metrics``: SPC = time / Σ clicks, SPI = time /
samples). That is a pooled ratio, not a mean of per-sample ratios, so a sample that needs 20
clicks weighs 20 times one that needs one. Their clock runs around everything in the loop
(data loading, the click robot, IoU); ours is the model call alone (``model_seconds`` in each
record), so that a slow robot or disk does not count against a model.
"""

from __future__ import annotations

from collections.abc import Sequence


def seconds_per_click(model_seconds: Sequence[float], clicks: Sequence[int]) -> dict[str, float | list[float]]:
    """Pooled SPC, its per-sample values and seconds per sample (SPI) from per-sample totals.

    ``model_seconds[i]`` is the model time of sample i summed over its ``clicks[i]`` clicks
    (the length of its IoU list: early-stopped runs count the clicks they made).
    """
    if len(model_seconds) != len(clicks):
        raise ValueError(f"{len(model_seconds)} sample times for {len(clicks)} click counts")
    if not clicks:
        raise ValueError("seconds_per_click: no samples")
    if min(clicks) < 1:
        raise ValueError("every sample needs at least one click")
    total = float(sum(model_seconds))
    return {"seconds_per_click": total / sum(clicks),
            "seconds_per_click_per_sample": [float(s) / n for s, n in zip(model_seconds, clicks, strict=True)],
            "seconds_per_sample": total / len(clicks)}
