"""AIM-500 (Li et al., IJCAI 2021): 500 natural images with alpha mattes and trimaps.

Layout of the released folder (`JizhiziLi/AIM` `core/README.md`): `original/<id>.jpg`,
`mask/<id>.png` (alpha), `trimap/<id>.png`, `usr/<id>.png` (the paper's unified semantic
representation, not read here).
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("aim-500", "aim-500", "test", image="original", alpha="mask", trimap="trimap")
IMPORTER = layout_importer(LAYOUT)
