"""P3M-500-P (Li et al., "Privacy-Preserving Portrait Matting", ACM MM 2021): 500 face-blurred portraits.

Layout of the released P3M-10k folder (`ViTAE-Transformer/P3M-Net` `core/README.md`): `validation/P3M-500-P/blurred_image/<id>.jpg`,
`validation/P3M-500-P/mask/<id>.png` (alpha), `validation/P3M-500-P/trimap/<id>.png`.
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("p3m-500-p", "p3m-10k", "p3m-500-p", image="validation/P3M-500-P/blurred_image",
                alpha="validation/P3M-500-P/mask", trimap="validation/P3M-500-P/trimap")
IMPORTER = layout_importer(LAYOUT)
