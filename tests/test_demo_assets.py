"""Demo objects, backgrounds, banks and the `datagen demo` command."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from scipy import ndimage as ndi
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.demo.backgrounds import PHOTOS, make_background, make_photo_background
from datagen.demo.banks import build_background_bank, build_object_bank, sample_seed
from datagen.demo.objects import OBJECT_KINDS, make_object
from datagen.demo.stages import DemoContext, objects_stage, run_stages

FIELDS = ("fg", "alpha", "F", "B0", "image")


def ridge_pixels(alpha: np.ndarray, margin: int = 20) -> int:
    """Pixels brighter than both neighbours (horizontally or vertically) by `margin`: thin strands."""
    a = alpha.astype(int)
    c = a[1:-1, 1:-1]
    across_x = (c > a[1:-1, :-2] + margin) & (c > a[1:-1, 2:] + margin)
    across_y = (c > a[:-2, 1:-1] + margin) & (c > a[2:, 1:-1] + margin)
    return int((across_x | across_y).sum())


def enclosed_holes(alpha: np.ndarray, min_pixels: int = 5) -> int:
    """Connected alpha == 0 regions fully enclosed by alpha > 0, of at least `min_pixels`."""
    solid = alpha > 0
    labels, n = ndi.label(ndi.binary_fill_holes(solid) & ~solid)
    return int((np.bincount(labels.ravel())[1:] >= min_pixels).sum())


@pytest.fixture(scope="module")
def objects() -> dict[str, list]:
    return {kind: [make_object(seed, (160, 200), kind=kind) for seed in (3, 4)] for kind in OBJECT_KINDS}


def test_same_seed_gives_identical_arrays_and_seeds_differ():
    a, b, c = make_object(11, (64, 80)), make_object(11, (64, 80)), make_object(12, (64, 80))
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name
    assert a.name == b.name
    assert np.array_equal(make_background(5, (40, 60)), make_background(5, (40, 60)))
    assert not np.array_equal(make_background(5, (40, 60)), make_background(6, (40, 60)))


def test_seeded_kind_choice_covers_all_kinds():
    assert {make_object(seed, (8, 8)).name for seed in range(40)} == set(OBJECT_KINDS)


def test_image_is_exact_composite_of_ground_truth(objects):
    for obj in sum(objects.values(), []):
        a = obj.alpha.astype(np.float64)[..., None] / 255.0
        expected = np.rint(255.0 * (a * obj.F.astype(np.float64) + (1.0 - a) * obj.B0.astype(np.float64)))
        assert np.array_equal(obj.image, expected.astype(np.uint8)), obj.name


def test_fg_is_shipped_like_real_matting_sets(objects):
    for obj in sum(objects.values(), []):
        inside = obj.alpha > 0
        assert np.array_equal(obj.fg[inside], obj.image[inside])
        assert not obj.fg[~inside].any()


def test_dtypes_ranges_and_shapes(objects):
    for obj in sum(objects.values(), []):
        assert obj.fg.dtype == obj.image.dtype == obj.alpha.dtype == np.uint8
        assert obj.F.dtype == obj.B0.dtype == np.float32
        assert obj.F.shape == obj.B0.shape == obj.image.shape == (160, 200, 3)
        assert obj.alpha.shape == (160, 200)
        for field in (obj.F, obj.B0):
            assert np.isfinite(field).all() and field.min() >= 0 and field.max() <= 1


def test_alpha_has_substantial_soft_transitions_and_holes(objects):
    for kind, objs in objects.items():
        for obj in objs:
            solid = obj.alpha > 0
            partial = solid & (obj.alpha < 255)
            assert partial.sum() > 0.15 * solid.sum(), kind
            assert enclosed_holes(obj.alpha) >= 1, kind


def test_hair_strands_are_thin_and_faint(objects):
    for obj in objects["fur"] + objects["hair"]:
        solid = obj.alpha > 0
        assert ridge_pixels(obj.alpha) > 300
        assert ((obj.alpha > 0) & (obj.alpha < 100)).sum() > 0.1 * solid.sum()
    # The measure can fail: glass has smooth, wide structures only.
    assert all(ridge_pixels(obj.alpha) < 20 for obj in objects["glass"])


def test_glass_and_lace_are_semi_transparent(objects):
    for kind in ("glass", "lace"):
        for obj in objects[kind]:
            solid = obj.alpha > 0
            semi = (obj.alpha >= 77) & (obj.alpha <= 179)  # alpha 0.3 .. 0.7
            assert semi.sum() > 0.3 * solid.sum(), kind


def test_motion_blur_widens_every_edge(objects):
    for obj in objects["motion"]:
        solid = obj.alpha > 0
        # An unblurred edge of a blob this size would be ~1-3 px of partial alpha around ~400 px of outline.
        assert ((obj.alpha > 0) & (obj.alpha < 255)).sum() > 0.4 * solid.sum()


def test_foreground_is_valid_everywhere_and_differs_from_background(objects):
    for obj in sum(objects.values(), []):
        outside = obj.alpha == 0
        assert obj.F[outside].mean() > 0.2, "F must not go black outside the silhouette"
        gy, gx = np.gradient(obj.F.mean(axis=2))
        assert np.hypot(gx, gy)[outside].mean() < 0.03, "F must be smooth past the silhouette"
        transition = (obj.alpha > 0) & (obj.alpha < 255)
        assert np.abs(obj.F - obj.B0)[transition].mean() > 0.12, "spill must be measurable"


@pytest.mark.parametrize("size", [(1, 7), (7, 1), (3, 4001), (2, 2), (33, 17)])
def test_odd_sizes(size):
    for kind in OBJECT_KINDS:
        obj = make_object(1, size, kind=kind)
        assert obj.alpha.shape == size and obj.image.shape == (*size, 3) and obj.F.shape == (*size, 3)
    assert make_background(1, size).shape == (*size, 3)
    assert make_photo_background(1, size).shape == (*size, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="kind"):
        make_object(0, kind="teapot")
    with pytest.raises(ValueError, match="size"):
        make_object(0, (0, 5))
    with pytest.raises(ValueError, match="size"):
        make_background(0, (5, 0))
    with pytest.raises(ValueError, match="photo"):
        make_photo_background(0, photo="mona_lisa")


def test_photo_backgrounds_are_seeded_crops_of_bundled_photos():
    a, b = make_photo_background(3, (48, 64)), make_photo_background(3, (48, 64))
    assert np.array_equal(a, b) and not np.array_equal(a, make_photo_background(4, (48, 64)))
    # Photo content, not a constant or a noise field: contrast, and neighbours correlate strongly.
    gray = make_photo_background(0, (120, 160), "coffee").astype(float).mean(axis=2)
    assert gray.std() > 10 and np.corrcoef(gray[:, :-1].ravel(), gray[:, 1:].ravel())[0, 1] > 0.8


def test_banks_read_back_and_regenerate_from_recipe(tmp_path):
    from datagen.shards import open_dataset

    n = len(OBJECT_KINDS) + 1
    result = build_object_bank(tmp_path / "objects", n=n, size=(40, 48), seed=7, execution=Execution(progress=False))
    assert result.n_samples == n and not result.failures
    ds = open_dataset(tmp_path / "objects")
    assert ds.kind == "objects" and len(ds) == n
    assert list(ds.ids) == [f"demo_obj_{i:04d}" for i in range(n)]
    sample = ds.get("demo_obj_0003")
    recipe = sample["recipe"]
    assert recipe["seed"] == sample_seed(7, 3) and recipe["kind"] == OBJECT_KINDS[3]
    obj = make_object(recipe["seed"], tuple(recipe["size"]), kind=recipe["kind"])
    assert np.array_equal(sample["fg"], obj.fg) and np.array_equal(sample["alpha"], obj.alpha)
    assert {ds[i]["recipe"]["kind"] for i in range(len(OBJECT_KINDS))} == set(OBJECT_KINDS)

    build_background_bank(tmp_path / "backgrounds", n=4, size=(30, 50), seed=7, execution=Execution(progress=False))
    bgs = open_dataset(tmp_path / "backgrounds")
    assert bgs.kind == "backgrounds" and len(bgs) == 4
    assert np.array_equal(bgs.get("demo_bg_0002")["image"], make_background(sample_seed(7, 2), (30, 50)))
    photo = bgs.get("demo_bg_0003")
    assert photo["recipe"]["photo"] == PHOTOS[0] and "photo" not in bgs[2]["recipe"]
    assert np.array_equal(photo["image"], make_photo_background(sample_seed(7, 3), (30, 50), PHOTOS[0]))


def test_bank_is_byte_identical_with_two_workers(tmp_path):
    one = build_object_bank(tmp_path / "w1", n=20, size=(24, 24), seed=1, execution=Execution(workers=1, progress=False))
    two = build_object_bank(tmp_path / "w2", n=20, size=(24, 24), seed=1, execution=Execution(workers=2, progress=False))
    shards = sorted(p.name for p in one.path.glob("shard-*.h5"))
    assert len(shards) == 2 and shards == sorted(p.name for p in two.path.glob("shard-*.h5"))
    from datagen.shards import open_dataset

    a, b = open_dataset(one.path), open_dataset(two.path)
    for i in range(len(a)):
        for field in ("fg", "alpha"):
            assert np.array_equal(a[i][field], b[i][field]), (a.ids[i], field)
    for name in shards:
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes(), name


def test_stages_record_outputs_and_verify_them(tmp_path):
    ctx = DemoContext(out=tmp_path, n_objects=2, n_backgrounds=0, object_size=(16, 16), execution=Execution(progress=False))
    lines: list[str] = []
    done = run_stages(ctx, (("objects", objects_stage),), report=lines.append)
    assert list(done) == ["objects"] and ctx.outputs == {"objects": tmp_path / "objects"}
    assert lines[0].startswith("objects: 2 objects") and lines[1] == "verify objects: OK"
    assert objects_stage(ctx).summary.startswith("2 objects of 16x16 up to date")


def test_demo_command_builds_banks_and_reports_outputs(tmp_path, monkeypatch):
    from datagen.cli import app
    from datagen.demo import stages

    # Only this feature's stages (later features test their own stages).
    monkeypatch.setattr(stages, "STAGES", stages.STAGES[:2])

    args = ["demo", "--out", str(tmp_path), "--objects", "3", "--backgrounds", "2", "--size", "24x20",
            "--background-size", "16", "--no-progress"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert f"-> {tmp_path / 'objects'}" in first.output and f"-> {tmp_path / 'backgrounds'}" in first.output
    assert "verify backgrounds: OK" in first.output and "demo finished: 2 stage(s)" in first.output
    assert f"demo finished: 2 stage(s): 2 run (objects, backgrounds) under {tmp_path}" in first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "up to date" in again.output
    # nothing ran: the last line said "2 stage(s) run" before
    assert f"demo finished: 2 stage(s): none run, 2 already up to date (objects, backgrounds) under {tmp_path}" \
        in again.output
    shutil.rmtree(tmp_path / "backgrounds")
    partly = CliRunner().invoke(app, args)
    assert partly.exit_code == 0, partly.output
    assert "demo finished: 2 stage(s): 1 run (backgrounds), 1 already up to date (objects) under" in partly.output
    changed = CliRunner().invoke(app, [*args[:-1], "--seed", "5", "--no-progress"])
    assert changed.exit_code == 2 and "error:" in changed.output
    bad = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "x"), "--size", "3x"])
    assert bad.exit_code != 0 and "not a size" in bad.output
