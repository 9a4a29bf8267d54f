"""Builds that follow a published recipe rather than a file layout: the Deep Image Matting sets
(`composition1k`, `icomp100`, `dim_train`, on the exact compositing of `dim_recipe`)."""
