"""Procedural demo assets: objects with exact ground truth (`objects`), backgrounds
(`backgrounds`), their shard banks (`banks`) and the stages of `datagen demo` (`stages`).

Nothing is imported here so that `datagen --help` stays fast; import the submodules.
"""
