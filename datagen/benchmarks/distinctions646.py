"""Distinctions-646 test (Qiao et al., HAttMatting, CVPR 2020): 50 objects x 20 VOC backgrounds.

The set ships foregrounds and alphas; the composites are made with the authors' script
(`yuhaoliu7456/CVPR2020-HAttMatting` `utils/gen_dataset.py`, with its `fg_test.txt` and
`bg_test.txt`), which writes `Test/Image/<name>.png`, `Test/GT/<name>.png` (alpha),
`Test/FG/<name>.png` and `Test/BG/<name>.png` with one name per composite. That output is the
layout read here (`--root` holds `Test/`). No trimaps: trimap-free, whole-image scoring.
"""

from datagen.benchmarks.natural_matting import Layout, layout_importer

LAYOUT = Layout("distinctions-646", "distinctions-646", "test", image="Test/Image", alpha="Test/GT", fg="Test/FG")
IMPORTER = layout_importer(LAYOUT)
