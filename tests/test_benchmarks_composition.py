"""Composition-1k / Interactive Composition-100: the DIM recipe, byte for byte.

A synthetic Combined_Dataset is laid out under the official names from
../shared/data/dim-namelists (tiny images), then the build is compared with a
straightforward per-pixel implementation of the published recipe written here.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.runner import Execution
from datagen.benchmarks import composition1k, dim_recipe
from datagen.compose.trimap import trimap_from_alpha
from datagen.datasets.layouts import InputsError
from datagen.importing import ImporterError, get_importer, plan_import, run_import
from datagen.shards import open_dataset

NAMELISTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dim-namelists"


def build(name: str, out: Path, *, warn=lambda line: None, workers: int = 1, shard_size: int = 64, **options):
    """`datagen build NAME` in-process: (WriteResult, finish lines), with listing problems checked absent."""
    importer = get_importer("build", name)
    outcome = run_import(importer, importer.options(**options), out, warn=warn,
                         execution=Execution(workers=workers, progress=False),
                         shard_size=shard_size)
    assert not outcome.problems, outcome.problems
    return outcome.result, outcome.lines


def plan(name: str, **options):
    """The Plan of `datagen build NAME`, after the manifest check, without writing anything."""
    importer = get_importer("build", name)
    return plan_import(importer, importer.options(**options), warn=lambda line: None)


def _names(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _layout(root: Path, with_trimaps: bool = True) -> tuple[Path, Path]:
    """Combined_Dataset/Test_set with 50 synthetic objects + a VOC-like folder of 1000 backgrounds."""
    rng = np.random.default_rng(7)
    test = root / "Combined_Dataset" / "Test_set"
    objects = test / "Adobe-licensed images"
    for sub in ("fg", "alpha") + (("trimaps",) if with_trimaps else ()):
        (objects / sub).mkdir(parents=True)
    shutil.copy(NAMELISTS / "test_fg_names.txt", test / "test_fg_names.txt")
    shutil.copy(NAMELISTS / "test_bg_names.txt", test / "test_bg_names.txt")
    for i, name in enumerate(_names(test / "test_fg_names.txt")):
        h, w = rng.integers(16, 33, size=2)
        fg = rng.integers(0, 256, size=(h, w, 4 if i % 3 == 0 else 3), dtype=np.uint8)
        alpha = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        alpha[: h // 3] = 0          # exact 0 and 255 regions exercise both special cases
        alpha[-h // 3 :] = 255
        Image.fromarray(fg).save(objects / "fg" / name)          # every third one is RGBA
        if i % 4 == 0:  # 3-channel alpha whose other channels differ: the first channel is the alpha
            rgb = np.stack([alpha, 255 - alpha, alpha // 2], axis=2)
            Image.fromarray(rgb).save(objects / "alpha" / name)
        else:
            Image.fromarray(alpha).save(objects / "alpha" / name)
        if with_trimaps:
            trimap = np.where(alpha == 0, 0, np.where(alpha == 255, 255, 128)).astype(np.uint8)
            Image.fromarray(trimap).save(objects / "trimaps" / name)
    backgrounds = root / "VOC2012" / "JPEGImages"
    backgrounds.mkdir(parents=True)
    for j, name in enumerate(_names(test / "test_bg_names.txt")):
        # sizes from 8 to 47 px: many are smaller than their foreground and get upscaled
        bh, bw = rng.integers(8, 48, size=2)
        pixels = rng.integers(0, 256, size=(bh, bw, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if j % 10 == 0:
            image = image.convert("L")  # grey JPEGs are converted to RGB by the recipe
        image.save(backgrounds / name, quality=90)
    return root / "Combined_Dataset", backgrounds


def reference_composite(fg_path: Path, alpha_path: Path, bg_path: Path) -> np.ndarray:
    """The published recipe, one pixel and one channel at a time."""
    fg = Image.open(fg_path)
    if fg.mode not in ("RGB", "RGBA"):
        fg = fg.convert("RGB")
    alpha = Image.open(alpha_path)
    w, h = fg.size
    bg = Image.open(bg_path)
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    bw, bh = bg.size
    ratio = max(w / bw, h / bh)
    if ratio > 1:
        bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
    bg = bg.crop((0, 0, w, h))
    out = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            a = alpha.getpixel((x, y))
            a = (a[0] if isinstance(a, tuple) else a) / 255
            f, b = fg.getpixel((x, y)), bg.getpixel((x, y))
            for c in range(3):
                if a >= 1:
                    out[y, x, c] = f[c]
                elif a > 0:
                    out[y, x, c] = int(a * f[c] + (1 - a) * b[c])
                else:
                    out[y, x, c] = b[c]
    return out


@pytest.fixture(scope="module")
def dim_copy(tmp_path_factory):
    return _layout(tmp_path_factory.mktemp("dim"))


@pytest.fixture(scope="module")
def comp1k(dim_copy, tmp_path_factory):
    root, backgrounds = dim_copy
    out = tmp_path_factory.mktemp("out") / "comp1k"
    result, lines = build("composition-1k", out, root=root, backgrounds=backgrounds)
    assert not result.failures
    return out, lines


def test_composition1k_matches_per_pixel_reference(dim_copy, comp1k):
    root, backgrounds = dim_copy
    out, _ = comp1k
    ds = open_dataset(out)
    fg_names = _names(root / "Test_set" / "test_fg_names.txt")
    bg_names = _names(root / "Test_set" / "test_bg_names.txt")
    assert len(ds) == 1000
    assert ds.ids == [f"{Path(n).stem}_{k}" for n in fg_names for k in range(20)]
    objects = root / "Test_set" / "Adobe-licensed images"
    upscaled = 0
    for index in range(len(ds)):
        i, k = divmod(index, 20)
        sample = ds[index]
        assert sample["recipe"]["bg"] == bg_names[20 * i + k]
        upscaled += sample["recipe"]["bg_resized_to"] is not None
        expected = reference_composite(objects / "fg" / fg_names[i], objects / "alpha" / fg_names[i],
                                       backgrounds / bg_names[20 * i + k])
        np.testing.assert_array_equal(sample["image"], expected, err_msg=ds.ids[index])
        first_channel = np.asarray(Image.open(objects / "alpha" / fg_names[i]))
        first_channel = first_channel if first_channel.ndim == 2 else first_channel[:, :, 0]
        np.testing.assert_array_equal(sample["alpha"], first_channel)
        np.testing.assert_array_equal(sample["trimap"], np.asarray(Image.open(objects / "trimaps" / fg_names[i])))
    assert 100 < upscaled < 1000  # both branches of the resize rule were exercised


def test_sha256_list_names_every_composite(comp1k):
    out, lines = comp1k
    ds = open_dataset(out)
    rows = [line.split("  ") for line in (out / composition1k.SHA_FILE).read_text().splitlines() if not line.startswith("#")]
    assert [row[1] for row in rows] == ds.ids
    assert rows[5][0] == hashlib.sha256(ds[5]["image"].tobytes()).hexdigest()
    assert lines and "1000 composites" in lines[0]


def test_icomp100_is_first_two_backgrounds_without_trimap(dim_copy, comp1k, tmp_path):
    root, backgrounds = dim_copy
    result, _ = build("icomp-100", tmp_path / "ic", root=root, backgrounds=backgrounds)
    ic, full = open_dataset(tmp_path / "ic"), open_dataset(comp1k[0])
    assert len(ic) == 100 and "trimap" not in ic.fields
    assert all(sample_id.endswith(("_0", "_1")) for sample_id in ic.ids)
    for index in (0, 1, 57, 99):
        np.testing.assert_array_equal(ic[index]["image"], full.get(ic.ids[index])["image"])


def test_missing_inputs_are_listed_by_name(dim_copy, tmp_path):
    root, backgrounds = dim_copy
    copy = tmp_path / "Combined_Dataset"
    shutil.copytree(root, copy)
    fg_name = _names(copy / "Test_set" / "test_fg_names.txt")[3]
    (copy / "Test_set" / "Adobe-licensed images" / "fg" / fg_name).unlink()
    bgs = tmp_path / "bgs"
    shutil.copytree(backgrounds, bgs)
    bg_name = _names(copy / "Test_set" / "test_bg_names.txt")[321]
    (bgs / bg_name).unlink()
    with pytest.raises(InputsError) as error:
        plan("composition-1k", root=copy, backgrounds=bgs)
    message = str(error.value)
    assert f"fg/{fg_name}" in message and f"@backgrounds/{bg_name}" in message
    assert message.count("missing:") == 2  # exactly the two removed files, nothing else
    with pytest.raises(ImporterError, match="--backgrounds"):
        plan("composition-1k", root=copy)


def test_generated_trimaps_are_used_without_official_ones(tmp_path):
    root, backgrounds = _small_copy(tmp_path)
    made = plan("composition-1k", root=root, backgrounds=backgrounds, trimap_radius=3)
    sample = made.make_sample(made.items[0])
    assert sample["recipe"]["trimap"].startswith("generated")
    np.testing.assert_array_equal(sample["trimap"], trimap_from_alpha(sample["alpha"], 3))


def _small_copy(tmp_path: Path) -> tuple[Path, Path]:
    return _layout(tmp_path, with_trimaps=False)


def test_blend_special_cases_and_truncation():
    fg = np.array([[[200, 100, 0], [10, 20, 30], [10, 10, 10]]], np.uint8)
    bg = np.array([[[0, 50, 255], [90, 80, 70], [20, 20, 20]]], np.uint8)
    alpha = np.array([[255, 0, 128]], np.uint8)
    out = dim_recipe.blend_truncated(fg, bg, alpha)
    assert out[0, 0].tolist() == [200, 100, 0]  # a = 1 copies the foreground
    assert out[0, 1].tolist() == [90, 80, 70]   # a = 0 keeps the background
    # 128/255*10 + 127/255*20 = 14.98...: truncated to 14, where rounding would give 15
    assert out[0, 2].tolist() == [14, 14, 14]


def test_upscaled_size_uses_ceil_and_never_downscales():
    assert dim_recipe.upscaled_size(100, 50, 200, 200) is None
    assert dim_recipe.upscaled_size(101, 50, 100, 100) == (101, 101)
    assert dim_recipe.upscaled_size(30, 7, 20, 3) == (47, 7)  # ratio = max(1.5, 2.333..) -> ceil(46.66), ceil(7.0)


def test_official_names_survive_export_and_the_sha256_list(dim_copy, tmp_path):
    """`retriever-348572_1920 (1).png` (space, parentheses) is a real Composition-1k object: its
    composites must come out under the names Adobe's script writes, `<fg name minus .png>_<k>`."""
    from typer.testing import CliRunner

    from datagen.cli import app

    root, backgrounds = dim_copy
    fg_name = "retriever-348572_1920 (1).png"
    assert fg_name in _names(root / "Test_set" / "test_fg_names.txt")
    runner = CliRunner()
    built = runner.invoke(app, ["build", "icomp-100", "--root", str(root), "--backgrounds", str(backgrounds),
                                "--out", str(tmp_path / "ic"), "--names", "official", "--no-progress"])
    assert built.exit_code == 0, built.output
    ds = open_dataset(tmp_path / "ic")
    sample_id = "retriever-348572_1920 (1)_1"
    assert ds.get(sample_id)["recipe"]["name"] == "retriever-348572_1920 (1)_1.png"
    listed = dict(reversed(line.split("  ", 1)) for line in (tmp_path / "ic" / composition1k.SHA_FILE).read_text().splitlines()
                  if not line.startswith("#"))
    assert listed["retriever-348572_1920 (1)_1.png"] == hashlib.sha256(ds.get(sample_id)["image"].tobytes()).hexdigest()
    assert len(listed) == 100 and all(name.endswith(("_0.png", "_1.png")) for name in listed)

    exported = runner.invoke(app, ["shards", "export", str(tmp_path / "ic"), "--out", str(tmp_path / "x"),
                                   "--ids", sample_id, "--fields", "image,alpha", "--names", "official"])
    assert exported.exit_code == 0, exported.output
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["retriever-348572_1920 (1)_1_alpha.png",
                                                                  "retriever-348572_1920 (1)_1_image.png"]
    k, i = 1, _names(root / "Test_set" / "test_fg_names.txt").index(fg_name)
    objects = root / "Test_set" / "Adobe-licensed images"
    expected = reference_composite(objects / "fg" / fg_name, objects / "alpha" / fg_name,
                                   backgrounds / _names(root / "Test_set" / "test_bg_names.txt")[20 * i + k])
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x" / "retriever-348572_1920 (1)_1_image.png")), expected)
    by_id = runner.invoke(app, ["shards", "export", str(tmp_path / "ic"), "--out", str(tmp_path / "y"), "--ids", sample_id,
                                "--fields", "image"])
    assert by_id.exit_code == 0 and [p.name for p in (tmp_path / "y").iterdir()] == ["retriever-348572_1920__1__1-" +
                                                                                     hashlib.sha1(sample_id.encode()).hexdigest()[:8] + "_image.png"]


def test_official_names_on_a_dataset_without_them_is_one_clear_error(tmp_path):
    from typer.testing import CliRunner

    from datagen.shards.build import write_dataset
    from datagen.cli import app

    write_dataset(tmp_path / "bg", "backgrounds", ["a"], lambda _: {"id": "a", "image": np.zeros((2, 2, 3), np.uint8)},
                  execution=Execution(progress=False))
    result = CliRunner().invoke(app, ["shards", "export", str(tmp_path / "bg"), "--out", str(tmp_path / "x"), "--names", "official"])
    assert result.exit_code == 2 and "a: no official name recorded" in result.output and "Traceback" not in result.output
