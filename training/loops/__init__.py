"""Fit loops: the pieces every network's training shares (optimiser, schedule, sampler, metrics,
the step loop with checkpoints and DDP) and one small module per network (``fba``)."""
