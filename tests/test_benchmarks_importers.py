"""Benchmark builders on the real samples in ../shared/data: counts, mask values, ignore bands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from datagen.datasets import coco, sbd
from datagen.imageio import read_alpha
from datagen.shards import open_dataset
from test_benchmarks_composition import build, plan

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _build(name: str, out: Path, **options) -> tuple:
    warnings: list[str] = []
    result, _ = build(name, out, warn=warnings.append, **options)
    assert not result.failures, result.failures
    return open_dataset(out), warnings


def test_grabcut_band_becomes_ignore(tmp_path):
    ds, warnings = _build("grabcut", tmp_path / "g", root=DATA / "grabcut")
    assert len(ds) == 37 and set(ds.fields) >= {"image", "mask", "ignore"}
    assert any("37 files, the dataset has 50" in w for w in warnings)  # partial copy: warned, built
    with_band = 0
    for i, sample_id in enumerate(ds.ids):
        sample = ds[i]
        raw = np.asarray(Image.open(next((DATA / "grabcut" / "boundary_GT").glob(f"{sample_id}.*"))))
        np.testing.assert_array_equal(sample["mask"], (raw == 255).astype(np.uint8))
        np.testing.assert_array_equal(sample["ignore"], (raw == 128).astype(np.uint8))
        assert sample["image"].shape[:2] == raw.shape
        with_band += bool(sample["ignore"].any())
    assert with_band == 29  # masks of this subset that carry the 128 band


def test_berkeley_masks_are_binary_and_fully_labelled(tmp_path):
    ds, _ = _build("berkeley", tmp_path / "b", root=DATA / "berkeley")
    assert len(ds) == 76
    assert {"189011", "189011a", "189011b"} <= set(ds.ids) or {"239007", "239007a"} <= set(ds.ids)
    sample = ds.get("8023")  # holds two stray values (197, 243) above 128: object
    raw = np.asarray(Image.open(DATA / "berkeley" / "masks" / "8023.png"))[:, :, 2]
    np.testing.assert_array_equal(sample["mask"], (raw > 128).astype(np.uint8))
    assert all(not ds[i]["ignore"].any() for i in range(0, len(ds), 15))
    rotated = ds.get("138078")  # one of the orientation-fixed PNG images: sizes agree
    assert rotated["image"].shape[:2] == rotated["mask"].shape


def test_davis_palette_indices_above_zero_are_object(tmp_path):
    ds, _ = _build("davis", tmp_path / "d", root=DATA / "davis345_subset")
    assert len(ds) == 75 and "ignore" not in ds.fields
    seen_multi = False
    for i, sample_id in enumerate(ds.ids):
        indices = np.asarray(Image.open(DATA / "davis345_subset" / "gt" / f"{sample_id}.png"))
        seen_multi |= indices.max() > 1
        np.testing.assert_array_equal(ds[i]["mask"], (indices > 0).astype(np.uint8))
    assert seen_multi


def test_coco_mval_with_spaces_in_names(tmp_path):
    ds, _ = _build("coco-mval", tmp_path / "m", root=DATA / "coco_mval_subset")
    assert len(ds) == 59
    sample = ds.get("baseball bat01_000000203931")
    raw = np.asarray(Image.open(DATA / "coco_mval_subset" / "gt" / "baseball bat01_000000203931.png"))
    np.testing.assert_array_equal(sample["mask"], (raw > 0).astype(np.uint8))


def test_alphamatting_training_one_sample_per_trimap(tmp_path):
    root = DATA / "alphamatting_training_lowres"
    ds, _ = _build("alphamatting", tmp_path / "a", root=root)
    assert len(ds) == 40 and ds.ids[:2] == ["GT01_trimap1", "GT01_trimap2"]
    sample = ds.get("GT02_trimap2")
    np.testing.assert_array_equal(sample["alpha"], np.asarray(Image.open(root / "gt_training_lowres" / "GT02.png"))[:, :, 0])
    trimap = np.asarray(Image.open(root / "trimap_training_lowres" / "Trimap2" / "GT02.png").convert("L"))
    np.testing.assert_array_equal(sample["trimap"], trimap)
    assert set(np.unique(sample["trimap"])) == {0, 128, 255}
    only1, _ = _build("alphamatting", tmp_path / "a1", root=root, trimaps=(1,))
    assert len(only1) == 20


def test_alphamatting_test_set_builds_image_and_trimap_without_ground_truth(tmp_path):
    from datagen.datasets import alphamatting

    root = DATA / "alphamatting_test_lowres_nogt"
    items = alphamatting.list_items(root, "test")
    assert [i.id for i in items] == ["donkey_trimap1", "net_trimap1", "pineapple_trimap1", "troll_trimap1"]
    sample = alphamatting.load(items[0])
    assert "alpha" not in sample and sample["trimap"].shape == sample["image"].shape[:2]
    ds, _ = _build("alphamatting", tmp_path / "test", root=root, split="test")
    assert ds.ids == [i.id for i in items] and set(ds.fields) == {"image", "trimap", "recipe"}
    np.testing.assert_array_equal(ds.get("net_trimap1")["trimap"], read_alpha(root / "trimap_lowres" / "Trimap1" / "net.png"))


def test_mat_struct_reader_on_bsds_cells():
    """BSDS groundTruth: 1xK cell of structs (Segmentation uint16, Boundaries) - the SBD style."""
    path = DATA / "bsds500_gt_mat_samples" / "groundTruth" / "test" / "14085.mat"
    raw = scipy.io.loadmat(str(path))["groundTruth"]
    for k in range(raw.shape[1]):
        seg = sbd.read_struct_field(path, "groundTruth", "Segmentation", k)
        assert seg.dtype == np.uint16 and seg.shape == (321, 481)
        np.testing.assert_array_equal(seg, raw[0, k]["Segmentation"][0, 0])
        assert sum(sbd.label_areas(seg).values()) == seg.size  # BSDS labels start at 1: every pixel counted
    boundaries = sbd.read_struct_field(path, "groundTruth", "Boundaries", 0)
    assert set(np.unique(boundaries)) <= {0, 1}
    with pytest.raises(Exception, match="no field|not a struct"):
        sbd.read_struct_field(path, "groundTruth", "Nope")


def _sbd_copy(root: Path) -> dict[str, list[int]]:
    """A tiny SBD layout whose GTinst structs are written by scipy, as MATLAB would store them."""
    rng = np.random.default_rng(0)
    for sub in ("img", "inst"):
        (root / sub).mkdir(parents=True)
    expected = {}
    for n, name in enumerate(["2008_000002", "2008_000003", "2008_000007"]):
        labels = np.zeros((20, 30), np.uint8)
        labels[2:10, 2:12] = 1           # 80 px
        labels[12:18, 15:29] = 2         # 84 px
        if n == 1:
            labels[0, 29] = 3            # a 1-pixel instance
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(root / "img" / f"{name}.jpg")
        categories = np.array([[15], [7], [3]][: labels.max()], np.uint8)
        scipy.io.savemat(root / "inst" / f"{name}.mat",
                         {"GTinst": {"Segmentation": labels, "Boundaries": np.zeros((3, 1), object), "Categories": categories}})
        expected[name] = sorted(set(np.unique(labels)) - {0})
    (root / "val.txt").write_text("\n".join(expected) + "\n")
    return expected


def test_sbd_one_sample_per_instance_with_min_area(tmp_path):
    expected = _sbd_copy(tmp_path / "sbd")
    ds, warnings = _build("sbd", tmp_path / "out", root=tmp_path / "sbd")
    assert ds.ids == [f"{name}_{i}" for name, ids in expected.items() for i in ids]
    assert any("val.txt" in w and "3 names" in w for w in warnings)
    sample = ds.get("2008_000003_2")
    assert sample["mask"].sum() == 84 and sample["recipe"]["category"] == 7
    small, _ = _build("sbd", tmp_path / "out2", root=tmp_path / "sbd", min_area=2)
    assert "2008_000003_3" not in small.ids and len(small) == len(ds) - 1
    assert small.manifest["provenance"]["params"]["instances_below_min_area"] == 1


def test_coco_rle_with_crowd_regions_ignored(tmp_path):
    sample_dir = DATA / "coco_panoptic_sample" / "sample_data"
    annotations = sample_dir / "panoptic_coco_detection_format.json"
    ds, _ = _build("coco", tmp_path / "c", root=sample_dir / "input_images", annotations=annotations)
    doc = json.loads(annotations.read_text())
    plain = {a["id"]: a for a in doc["annotations"] if not a["iscrowd"]}
    assert len(ds) == len(plain) == 47
    for i in range(len(ds)):
        sample = ds[i]
        ann = plain[sample["recipe"]["annotation_id"]]
        assert sample["mask"].sum() == ann["area"]  # RLE areas are exact pixel counts
        assert not (sample["mask"] & sample["ignore"]).any()
        assert bool(sample["ignore"].any()) == (sample["recipe"]["crowd_regions"] > 0)
    assert {ds[i]["recipe"]["crowd_regions"] for i in range(len(ds))} == {1, 2}


def test_coco_polygons_and_uncompressed_rle_decode_to_the_drawn_shape():
    # polygon with corners (2,1)-(8,5): the 6x4 pixels whose unit squares it covers
    expected = np.zeros((10, 12), np.uint8)
    expected[1:5, 2:8] = 1
    np.testing.assert_array_equal(coco.decode([[2, 1, 8, 1, 8, 5, 2, 5]], 10, 12), expected)
    # uncompressed RLE: column-major run lengths starting with background
    truth = np.zeros((4, 3), np.uint8)
    truth[1:3, 1] = 1
    flat = truth.flatten(order="F")
    runs, current, length = [], 0, 0
    for value in flat:
        if value != current:
            runs.append(length)
            current, length = value, 0
        length += 1
    runs.append(length)
    np.testing.assert_array_equal(coco.decode({"counts": runs, "size": [4, 3]}, 4, 3), truth)


def _tiny_grabcut(root: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    (root / "data_GT").mkdir(parents=True)
    (root / "boundary_GT").mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).save(root / "data_GT" / f"im{i}.png")
        Image.fromarray(rng.choice(np.array([0, 128, 255], np.uint8), (9, 11))).save(root / "boundary_GT" / f"im{i}.bmp")
    return root


def test_build_is_deterministic_across_worker_counts(tmp_path):
    root = _tiny_grabcut(tmp_path / "grabcut", 7)
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result, _ = build("grabcut", out, root=root, workers=workers, shard_size=2)
        assert result.n_samples == 7
        outs.append(out)
    shards = sorted(p.name for p in outs[0].glob("shard-*.h5"))
    assert len(shards) == 4
    for name in shards:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()


def test_missing_mask_is_named_and_blocks_the_build(tmp_path):
    root = tmp_path / "grabcut"
    (root / "data_GT").mkdir(parents=True)
    (root / "boundary_GT").mkdir()
    for stem in ("a", "b"):
        Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(root / "data_GT" / f"{stem}.jpg")
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(root / "boundary_GT" / "a.bmp")
    from datagen.datasets.layouts import InputsError

    with pytest.raises(InputsError, match=r"boundary_GT/b\.\*: no file for data_GT/b\.jpg"):
        plan("grabcut", root=root)


def test_cli_build_reports_missing_inputs_and_writes(tmp_path):
    from typer.testing import CliRunner

    from datagen.cli import app

    runner = CliRunner()
    root = _tiny_grabcut(tmp_path / "grabcut", 2)
    ok = runner.invoke(app, ["build", "grabcut", "--root", str(root), "--out", str(tmp_path / "o"), "--no-progress"])
    assert ok.exit_code == 0, ok.output
    assert "grabcut: 2 samples written" in ok.output
    (root / "boundary_GT" / "im1.bmp").unlink()
    bad = runner.invoke(app, ["build", "grabcut", "--root", str(root), "--out", str(tmp_path / "o2"), "--no-progress"])
    assert bad.exit_code == 2 and "missing: boundary_GT/im1.*: no file for data_GT/im1.png" in bad.output
    assert not (tmp_path / "o2").exists()
    unknown = runner.invoke(app, ["build", "nope", "--root", str(root), "--out", str(tmp_path / "o3")])
    assert unknown.exit_code == 2 and "unknown benchmark" in unknown.output


def test_duplicate_stem_in_a_benchmark_is_reported_recorded_and_the_rest_built(tmp_path):
    from typer.testing import CliRunner

    from datagen.cli import app

    root = _tiny_grabcut(tmp_path / "grabcut", 3)
    Image.fromarray(np.zeros((9, 11, 3), np.uint8)).save(root / "data_GT" / "im1.jpg")  # im1.png and im1.jpg
    result = CliRunner().invoke(app, ["build", "grabcut", "--root", str(root), "--out", str(tmp_path / "o"), "--no-progress"])
    line = (f"{root / 'data_GT'}: 2 image files share the stem 'im1' (im1.jpg, im1.png); none of them is used "
            "(rename or remove all but one)")
    assert result.exit_code == 1 and f"failed: {line}" in result.output
    ds = open_dataset(tmp_path / "o")
    assert ds.ids == ["im0", "im2"] and [f"{f['item']}: {f['error']}" for f in ds.manifest["failures"]] == [line]


def test_cli_build_rejects_an_option_the_dataset_does_not_take(tmp_path):
    from typer.testing import CliRunner

    from datagen.cli import app

    root = _tiny_grabcut(tmp_path / "grabcut", 2)
    result = CliRunner().invoke(app, ["build", "grabcut", "--root", str(root), "--out", str(tmp_path / "o"),
                                      "--split", "val", "--trimap-radius", "4", "--no-progress"])
    assert result.exit_code == 2 and "grabcut does not take --split, --trimap-radius" in result.output
    assert not (tmp_path / "o").exists()
