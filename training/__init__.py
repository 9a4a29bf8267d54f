"""Lean training and evaluation on top of datagen shards."""
