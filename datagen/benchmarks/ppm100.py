"""PPM-100 (Ke et al., MODNet, AAAI 2022): 100 photographic portraits with alpha mattes, no trimaps.

Layout of the released PPM-100 folder: `image/<id>.jpg` and `matte/<id>.png`. Trimap-free: it
can only be scored over the whole image.
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("ppm-100", "ppm-100", "test", image="image", alpha="matte")
IMPORTER = layout_importer(LAYOUT)
