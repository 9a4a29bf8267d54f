"""`datagen import ...` and the shards CLI on real and generated files, good and bad."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from datagen.runner import Execution
from datagen.cli import app
from datagen.imageio import ImageError, read_alpha, read_image, write_png
from datagen.shards import open_dataset

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def pil_rgb(path: Path) -> np.ndarray:
    """An independent decoder for lossless formats."""
    return np.asarray(Image.open(path).convert("RGB"))


def test_grabcut_real_files_round_trip_exactly(shared_data, tmp_path):
    images, masks = shared_data / "grabcut" / "data_GT", shared_data / "grabcut" / "boundary_GT"
    result = invoke("import", "images", "--images", images, "--masks", masks, "--out", tmp_path / "gc", "--no-progress")
    assert result.exit_code == 0, result.output
    dataset = open_dataset(tmp_path / "gc")
    assert len(dataset) == 37
    suffixes = set()
    for path in sorted(images.iterdir()):
        sample = dataset.get(path.stem)
        suffixes.add(path.suffix)
        assert np.array_equal(sample["image"], read_image(path))
        if path.suffix == ".bmp":
            assert np.array_equal(sample["image"], pil_rgb(path))
        mask_file = masks / f"{path.stem}.bmp"
        assert np.array_equal(sample["mask"], (np.asarray(Image.open(mask_file).convert("L")) > 0).astype(np.uint8))
    assert {".jpg", ".JPG", ".bmp"} <= suffixes


def test_alphamatting_objects_round_trip_exactly(shared_data, tmp_path):
    root = shared_data / "alphamatting_training_lowres"
    fg, alpha = root / "input_training_lowres", root / "gt_training_lowres"
    # The GT mattes are named GT01.png and the inputs GT01.png too: paired by stem.
    result = invoke("import", "objects", "--fg", fg, "--alpha", alpha, "--out", tmp_path / "am", "--no-progress")
    assert result.exit_code == 0, result.output
    dataset = open_dataset(tmp_path / "am")
    assert len(dataset) == len(list(fg.glob("*.png"))) == 20
    for path in sorted(fg.glob("*.png")):
        sample = dataset.get(path.stem)
        assert np.array_equal(sample["fg"], pil_rgb(path))
        assert np.array_equal(sample["alpha"], np.asarray(Image.open(alpha / path.name).convert("RGB"))[:, :, 0])


@pytest.mark.parametrize(
    "suffix, dtype, shape",
    [
        (".png", np.uint8, (1, 37)),
        (".png", np.uint16, (4001, 3)),
        (".bmp", np.uint8, (3, 4001)),
        (".jpg", np.uint8, (17, 1)),
        (".png", np.uint16, (31, 29)),
        (".png", np.uint8, (4000, 6000)),
    ],
)
def test_generated_files_round_trip_exactly(tmp_path, suffix, dtype, shape):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    top = np.iinfo(dtype).max
    if shape[0] * shape[1] > 1_000_000:  # smooth content keeps the 24 MP PNG quick to encode
        ramp = np.linspace(0, top, shape[1], dtype=np.float64)[None, :] * np.linspace(0.2, 1, shape[0])[:, None]
        image = np.stack([ramp, ramp[::-1], ramp.T[:, ::-1].T], axis=2).astype(dtype)
        alpha = ramp.astype(dtype)
    else:
        image = rng.integers(0, top + 1, shape + (3,), dtype=dtype)
        alpha = rng.integers(0, top + 1, shape, dtype=dtype)
    for folder in ("fg", "alpha"):
        (tmp_path / folder).mkdir()
    fg_file = tmp_path / "fg" / f"obj{suffix}"
    if suffix == ".png":
        write_png(fg_file, image)
    else:
        cv2.imwrite(str(fg_file), np.ascontiguousarray(image[:, :, ::-1]))
    write_png(tmp_path / "alpha" / "obj.png", alpha)
    result = invoke("import", "objects", "--fg", tmp_path / "fg", "--alpha", tmp_path / "alpha", "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 0, result.output
    sample = open_dataset(tmp_path / "ds").get("obj")
    expected = image if suffix != ".jpg" else cv2.imread(str(fg_file))[:, :, ::-1]
    assert sample["fg"].dtype == dtype and sample["alpha"].dtype == dtype
    assert np.array_equal(sample["fg"], expected)
    assert np.array_equal(sample["alpha"], alpha)


def make_folder(root: Path, name: str, files: dict[str, np.ndarray | bytes]) -> Path:
    folder = root / name
    folder.mkdir()
    for file_name, content in files.items():
        if isinstance(content, bytes):
            (folder / file_name).write_bytes(content)
        else:
            write_png(folder / file_name, content)
    return folder


def test_bad_inputs_are_named_one_line_each_and_the_rest_imported(tmp_path):
    rgb = np.full((8, 8, 3), 90, np.uint8)
    grey = np.full((8, 8), 200, np.uint8)
    colour_alpha = rgb.copy()
    colour_alpha[0, 0] = (1, 2, 3)
    fg = make_folder(tmp_path, "fg", {"good.png": rgb, "grey3.png": rgb, "broken.png": b"not an image", "small.png": rgb, "colour.png": rgb, "lonely.png": rgb})
    alpha = make_folder(
        tmp_path,
        "alpha",
        {"good.png": grey, "grey3.png": np.repeat(grey[:, :, None], 3, 2), "broken.png": grey, "small.png": grey[:4], "colour.png": colour_alpha, "orphan.png": grey},
    )
    result = invoke("import", "objects", "--fg", fg, "--alpha", alpha, "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 5, result.stderr
    text = "\n".join(failed)
    assert f"{fg / 'broken.png'}: not a readable image" in text
    assert f"{alpha / 'small.png'}: alpha is 8x4, the foreground small.png is 8x8" in text
    assert f"{alpha / 'colour.png'}: alpha has colour channels that differ" in text
    assert f"{fg / 'lonely.png'}: no matching alpha file" in text
    assert f"{alpha / 'orphan.png'}: no matching foreground file" in text
    dataset = open_dataset(tmp_path / "ds")
    assert sorted(dataset.ids) == ["good", "grey3"]
    assert np.array_equal(dataset.get("grey3")["alpha"], grey)


def test_empty_and_missing_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("import", "backgrounds", tmp_path / "empty", "--out", tmp_path / "bg")
    assert result.exit_code == 2 and f"{tmp_path / 'empty'}: backgrounds folder holds no image files" in result.stderr
    result = invoke("import", "backgrounds", tmp_path / "missing", "--out", tmp_path / "bg")
    assert result.exit_code == 2 and "backgrounds folder does not exist" in result.stderr
    result = invoke("import", "objects", "--fg", tmp_path / "empty", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "give --fg and --alpha folders, or an --rgba folder" in result.stderr


def test_rgba_objects_and_corrupt_backgrounds(tmp_path):
    rgba = np.random.default_rng(1).integers(0, 256, (9, 11, 4), dtype=np.uint8)
    folder = make_folder(tmp_path, "rgba", {"a.png": rgba, "b.png": rgba[:, :, :3]})
    result = invoke("import", "objects", "--rgba", folder, "--out", tmp_path / "objs", "--no-progress")
    assert result.exit_code == 1 and f"{folder / 'b.png'}: has no alpha channel" in result.stderr
    sample = open_dataset(tmp_path / "objs").get("a")
    assert np.array_equal(sample["fg"], rgba[:, :, :3]) and np.array_equal(sample["alpha"], rgba[:, :, 3])
    photos = make_folder(tmp_path, "photos", {"p1.png": rgba[:, :, :3], "p2.jpg": b"\xff\xd8\xff garbage"})
    result = invoke("import", "backgrounds", photos, "--out", tmp_path / "bg", "--no-progress")
    assert result.exit_code == 1 and f"{photos / 'p2.jpg'}: not a readable image" in result.stderr
    assert open_dataset(tmp_path / "bg").ids == ["p1"]


def test_read_alpha_rejects_differing_channels_and_names_the_file(tmp_path):
    path = tmp_path / "a.png"
    write_png(path, np.dstack([np.zeros((3, 3), np.uint8), np.ones((3, 3), np.uint8), np.zeros((3, 3), np.uint8)]))
    with pytest.raises(ImageError, match=f"{path}: alpha has colour channels that differ"):
        read_alpha(path)


def test_shards_cli_info_verify_export(tmp_path):
    ids = ["plain", "with space", "../../escape", "ünïcødé", "a/b"]
    images = make_folder(tmp_path, "img", {})
    masks = make_folder(tmp_path, "msk", {})
    alphas = {}
    for number, sample_id in enumerate(ids):
        safe = f"f{number}"
        write_png(images / f"{safe}.png", np.full((5, 6, 3), number * 40, np.uint8))
        write_png(masks / f"{safe}.png", (np.arange(30).reshape(5, 6) % 2 * 255).astype(np.uint8))
        alphas[safe] = sample_id
    result = invoke("import", "images", "--images", images, "--masks", masks, "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 0, result.output

    # Ids normally come from file names; rewrite them to hostile ones through the writer itself.
    from datagen.shards.build import write_dataset

    source = open_dataset(tmp_path / "ds")
    def renamed(index):
        sample = source[index]
        sample["id"] = alphas[sample["id"]]
        sample["alpha"] = (sample["mask"].astype(np.uint16) * 65535)
        return sample

    write_dataset(tmp_path / "hostile", "benchmark", list(range(len(source))), renamed, execution=Execution(progress=False))
    info = invoke("shards", "info", tmp_path / "hostile")
    assert info.exit_code == 0 and "benchmark dataset, 5 samples" in info.output and "uint16" in info.output
    assert invoke("shards", "verify", tmp_path / "hostile").exit_code == 0
    out = tmp_path / "png"
    result = invoke("shards", "export", tmp_path / "hostile", "--out", out)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 15 and all((out / name).resolve().parent == out.resolve() for name in files)
    assert not (tmp_path / "escape_image.png").exists() and not any(tmp_path.parent.glob("escape*"))
    assert "plain_image.png" in files and any(name.startswith("ünïcødé") for name in files)
    mask = cv2.imread(str(out / "plain_mask.png"), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    alpha = cv2.imread(str(out / "plain_alpha.png"), cv2.IMREAD_UNCHANGED)
    assert alpha.dtype == np.uint16 and alpha.max() == 65535
    picked = invoke("shards", "export", tmp_path / "hostile", "--out", tmp_path / "one", "--ids", "with space", "--fields", "image")
    assert picked.exit_code == 0 and len(list((tmp_path / "one").iterdir())) == 1
    missing = invoke("shards", "export", tmp_path / "hostile", "--out", tmp_path / "x", "--ids", "nope")
    assert missing.exit_code == 2 and "no sample with id 'nope'" in missing.stderr


def test_verify_cli_reports_corruption_with_exit_1(tmp_path):
    folder = make_folder(tmp_path, "bg", {"a.png": np.zeros((4, 4, 3), np.uint8)})
    invoke("import", "backgrounds", folder, "--out", tmp_path / "ds", "--no-progress")
    shard = tmp_path / "ds" / "shard-00000.h5"
    shard.write_bytes(shard.read_bytes()[:-10])
    result = invoke("shards", "verify", tmp_path / "ds")
    assert result.exit_code == 1 and "corrupt: shard-00000.h5" in result.stderr


def test_recipe_exports_as_json(tmp_path):
    from datagen.shards.build import write_dataset
    from datagen.shardtools.export import export_samples

    sample = {"id": "s", "image": np.zeros((2, 2, 3), np.uint8), "mask": np.zeros((2, 2), np.uint8), "alpha": np.zeros((2, 2), np.uint8), "recipe": {"seed": 5}}
    write_dataset(tmp_path / "ds", "seg", [0], lambda _: sample, execution=Execution(progress=False))
    written = export_samples(open_dataset(tmp_path / "ds"), tmp_path / "out", fields=["recipe"])
    assert [p.name for p in written] == ["s_recipe.json"] and json.loads(written[0].read_text()) == {"seed": 5}


def test_two_files_with_one_stem_are_reported_recorded_and_neither_used(tmp_path):
    folder = make_folder(tmp_path, "bg", {"a.bmp": np.zeros((4, 4, 3), np.uint8), "a.png": np.full((4, 4, 3), 9, np.uint8),
                                          "b.png": np.full((4, 4, 3), 5, np.uint8)})
    result = invoke("import", "backgrounds", folder, "--out", tmp_path / "ds", "--no-progress")
    line = f"{folder}: 2 backgrounds files share the stem 'a' (a.bmp, a.png); none of them is used (rename or remove all but one)"
    assert result.exit_code == 1 and f"failed: {line}" in result.stderr
    dataset = open_dataset(tmp_path / "ds")
    assert dataset.ids == ["b"]
    assert dataset.manifest["failures"] == [{"item": str(folder), "error": line.removeprefix(f"{folder}: ")}]


def test_only_ambiguous_files_is_nothing_to_import(tmp_path):
    folder = make_folder(tmp_path, "bg", {"a.bmp": np.zeros((4, 4, 3), np.uint8), "a.png": np.zeros((4, 4, 3), np.uint8)})
    result = invoke("import", "backgrounds", folder, "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 2 and "share the stem 'a'" in result.stderr and "nothing to import" in result.stderr
    assert not (tmp_path / "ds").exists()


def test_size_and_trimap_checks_name_the_file_in_one_message_shape():
    from datagen.imageio import check_same_size, checked_trimap

    image = np.zeros((4, 6, 3), np.uint8)
    check_same_size("m.png", "mask", np.zeros((4, 6), np.uint8), "the image i.png", image.shape)  # HxW vs HxWx3: same size
    with pytest.raises(ImageError, match=r"^m\.png: mask is 5x4, the image i\.png is 6x4$"):
        check_same_size("m.png", "mask", np.zeros((4, 5), np.uint8), "the image i.png", image.shape)
    good = np.array([[0, 128, 255, 0, 0, 0]] * 4, np.uint8)
    np.testing.assert_array_equal(checked_trimap("t.png", good, "the image i.png", image.shape), good)
    with pytest.raises(ImageError, match=r"^t\.png: trimap has values other than 0/128/255 \(e\.g\. 7\)$"):
        checked_trimap("t.png", np.where(good == 128, 7, good).astype(np.uint8), "the image i.png", image.shape)
    with pytest.raises(ImageError, match=r"^t\.png: trimap is 6x3, the image i\.png is 6x4$"):
        checked_trimap("t.png", good[:3], "the image i.png", image.shape)
    with pytest.raises(ImageError, match="8-bit"):
        checked_trimap("t.png", good.astype(np.uint16), "the image i.png", image.shape)
