"""P3M-500-NP: the 500 portraits of P3M-10k without face blurring (the set's "normal" test).

Layout of the released P3M-10k folder (`ViTAE-Transformer/P3M-Net` `core/README.md`): `validation/P3M-500-NP/original_image/<id>.jpg`,
`validation/P3M-500-NP/mask/<id>.png` (alpha), `validation/P3M-500-NP/trimap/<id>.png`.
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("p3m-500-np", "p3m-10k", "p3m-500-np", image="validation/P3M-500-NP/original_image",
                alpha="validation/P3M-500-NP/mask", trimap="validation/P3M-500-NP/trimap")
IMPORTER = layout_importer(LAYOUT)
