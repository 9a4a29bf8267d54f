"""`datagen build` for the natural-image matting test sets (AIM-500, AM-2K validation, P3M-500-P/NP,
PPM-100, Distinctions-646 test): synthetic files laid out under each set's official names (written
out here from the sets' own READMEs, not taken from the importer code), then the P3M-500-P names
of the shared P3M samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.compose.trimap import trimap_from_alpha
from datagen.imageio import read_alpha
from datagen.shards import open_dataset
from datagen.shardtools.datasheet import write_datasheet
from test_benchmarks_composition import build, plan

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"

# set -> (manifest, official path of each file of a sample, with {} for the sample's name)
OFFICIAL = {
    "aim-500": ("aim-500", {"image": "original/{}.jpg", "alpha": "mask/{}.png", "trimap": "trimap/{}.png"}),
    "am-2k": ("am-2k", {"image": "validation/original/{}.jpg", "alpha": "validation/mask/{}.png",
                        "trimap": "validation/trimap/{}.png"}),
    "p3m-500-p": ("p3m-10k", {"image": "validation/P3M-500-P/blurred_image/{}.jpg", "alpha": "validation/P3M-500-P/mask/{}.png",
                              "trimap": "validation/P3M-500-P/trimap/{}.png"}),
    "p3m-500-np": ("p3m-10k", {"image": "validation/P3M-500-NP/original_image/{}.jpg",
                               "alpha": "validation/P3M-500-NP/mask/{}.png", "trimap": "validation/P3M-500-NP/trimap/{}.png"}),
    "ppm-100": ("ppm-100", {"image": "image/{}.jpg", "alpha": "matte/{}.png"}),
    "distinctions-646": ("distinctions-646", {"image": "Test/Image/{}.png", "alpha": "Test/GT/{}.png", "fg": "Test/FG/{}.png"}),
}
NAMES = ("o_0b7228ec", "m_0aa9dd6a", "p_07141906")


def _lay_out(root: Path, files: dict[str, str]) -> dict[str, dict[str, np.ndarray]]:
    """Three samples of different sizes under the official names; returns what was written."""
    rng = np.random.default_rng(4)
    written = {}
    for k, name in enumerate(NAMES):
        h, w = 12 + 3 * k, 17 + k
        yy, xx = np.mgrid[:h, :w]
        image = np.stack([yy * 10 + 20 * k, xx * 8, 200 - yy * 5 - xx * 3], -1).astype(np.uint8)   # smooth: JPEG keeps it
        alpha = rng.integers(0, 256, (h, w), dtype=np.uint8)
        alpha[:3], alpha[-3:] = 0, 255
        arrays = {"image": image, "alpha": alpha, "trimap": trimap_from_alpha(alpha, 1), "fg": image[::-1].copy()}
        for role, pattern in files.items():
            path = root / pattern.format(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arrays[role]).save(path, quality=98)
        written[name] = {role: arrays[role] for role in files}
    return written


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_each_set_builds_from_its_official_layout(name, tmp_path):
    manifest, files = OFFICIAL[name]
    written = _lay_out(tmp_path / "copy", files)
    warnings: list[str] = []
    result, _ = build(name, tmp_path / "out", root=tmp_path / "copy", warn=warnings.append)
    assert not result.failures and any("the dataset has" in w for w in warnings)   # 3 of 100..1000: warned, built
    ds = open_dataset(tmp_path / "out")
    assert ds.kind == "benchmark" and ds.ids == sorted(NAMES)
    trimap_free = "trimap" not in files
    assert set(ds.fields) == {"image", "alpha", "recipe"} | set(files) - {"image", "alpha"}
    params = ds.manifest["provenance"]["params"]
    assert params["benchmark"] == name and params["trimap_free"] is trimap_free
    assert params["scoring"].startswith("whole image: SAD, MSE, MAD")
    assert ("shipped trimap" in params["scoring"]) is not trimap_free
    assert ds.manifest["provenance"]["source_manifest"]["name"] == manifest
    for sample_id, arrays in written.items():
        sample = ds.get(sample_id)
        np.testing.assert_array_equal(sample["alpha"], arrays["alpha"])
        if not trimap_free:
            np.testing.assert_array_equal(sample["trimap"], arrays["trimap"])
        if "fg" in files:
            np.testing.assert_array_equal(sample["fg"], arrays["fg"])
        assert sample["image"].shape == arrays["image"].shape
        assert np.abs(sample["image"].astype(int) - arrays["image"]).mean() < 2      # JPEG at quality 98
        recipe = sample["recipe"]
        assert recipe["source"] == name and recipe["trimap_free"] is trimap_free and recipe["scoring"] == params["scoring"]
        assert recipe["image"] == Path(files["image"].format(sample_id)).name
    licence = json.loads((MANIFESTS / f"{manifest}.json").read_text())["license"]
    assert licence in write_datasheet(tmp_path / "out", tmp_path / "sheet.md").read_text()


def test_missing_trimap_is_named_and_a_bad_one_fails_its_sample(tmp_path):
    from datagen.datasets.layouts import InputsError

    _, files = OFFICIAL["am-2k"]
    _lay_out(tmp_path / "copy", files)
    trimap = tmp_path / "copy" / files["trimap"].format(NAMES[1])
    trimap.unlink()
    with pytest.raises(InputsError, match=r"validation/trimap/m_0aa9dd6a\.\*: no file for validation/original/m_0aa9dd6a\.jpg"):
        plan("am-2k", root=tmp_path / "copy")
    Image.fromarray(np.full((15, 18), 7, np.uint8)).save(trimap)             # a value that is not 0/128/255
    result, _ = build("am-2k", tmp_path / "out", root=tmp_path / "copy")
    assert result.n_samples == 2 and len(result.failures) == 1
    assert "m_0aa9dd6a.png" in result.failures[0].error and "trimap" in result.failures[0].error


def test_p3m_500_p_names_of_the_shared_portraits(tmp_path):
    """The shared P3M samples (real 1080-1920 px JPEGs under P3M-500-P names; their alphas are
    P3M-Net predictions, standing in for ground truth) laid out as P3M-10k ships the set."""
    source = DATA / "p3m500p_samples_predicted_alpha"
    part = tmp_path / "P3M-10k" / "validation" / "P3M-500-P"
    for sub in ("blurred_image", "mask", "trimap"):
        (part / sub).mkdir(parents=True)
    stems = ["p_07141906", "p_22fc0130", "p_514ca06a"]
    for stem in stems:
        (part / "blurred_image" / f"{stem}.jpg").symlink_to(source / "original" / f"{stem}.jpg")
        (part / "mask" / f"{stem}.png").symlink_to(source / "alpha" / f"{stem}.png")
        Image.fromarray(trimap_from_alpha(read_alpha(source / "alpha" / f"{stem}.png"), 10)).save(part / "trimap" / f"{stem}.png")
    result, _ = build("p3m-500-p", tmp_path / "out", root=tmp_path / "P3M-10k")
    assert not result.failures
    ds = open_dataset(tmp_path / "out")
    assert ds.ids == stems
    sample = ds.get("p_22fc0130")
    assert sample["image"].shape == (1344, 1080, 3)                           # 1080x1344 per SOURCE.md
    np.testing.assert_array_equal(sample["alpha"], np.asarray(Image.open(source / "alpha" / "p_22fc0130.png")))
    assert sample["recipe"]["image"] == "p_22fc0130.jpg" and not sample["recipe"]["trimap_free"]
