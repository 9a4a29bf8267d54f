"""AM-2K validation (Li et al., "Bridging Composite and Real", IJCV 2021): 200 animal photos.

Layout (`JizhiziLi/GFM` `core/README.md`): `validation/original/<id>.jpg`,
`validation/mask/<id>.png` (alpha), `validation/trimap/<id>.png`; `train/` is not read.
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("am-2k", "am-2k", "validation", image="validation/original", alpha="validation/mask",
                trimap="validation/trimap")
IMPORTER = layout_importer(LAYOUT)
