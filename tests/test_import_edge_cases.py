"""`datagen import` on copies of real datasets with the edge cases a user's folders hold.

Each case starts from real files of ../shared/data (alphamatting.com training objects, COCO
photographs, GrabCut images) copied to a temporary folder, adds the awkward file, and checks
the one line the command prints, its exit status, and what the manifest records: files that
could not be paired are `failures` like any failed item; an all-zero alpha is refused at
import; an RGBA foreground's own alpha is used or checked, never dropped; files of other types
are reported as skipped; an over-large image is one line naming it, not OpenCV's message.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from datagen.cli import app
from datagen.imageio import ImageError, read_alpha, read_image, write_png
from datagen.shards import open_dataset
from datagen.shards.verify import verify_dataset

runner = CliRunner()
AM = "alphamatting_training_lowres"


def invoke(*args) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def lines(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


@pytest.fixture
def objects_copy(shared_data, tmp_path) -> tuple[Path, Path]:
    """Real foregrounds and alphas GT01, GT02, GT03, GT06 in fresh (writable) folders."""
    fg, alpha = tmp_path / "fg", tmp_path / "alpha"
    fg.mkdir(), alpha.mkdir()
    for stem in ("GT01", "GT02", "GT03", "GT06"):
        shutil.copyfile(shared_data / AM / "input_training_lowres" / f"{stem}.png", fg / f"{stem}.png")
        shutil.copyfile(shared_data / AM / "gt_training_lowres" / f"{stem}.png", alpha / f"{stem}.png")
    return fg, alpha


def import_objects(fg: Path, alpha: Path, out: Path, *extra):
    return invoke("import", "objects", "--fg", fg, "--alpha", alpha, "--out", out, "--no-progress", *extra)


def test_unpairable_files_are_manifest_failures_like_failed_items(objects_copy, tmp_path):
    fg, alpha = objects_copy
    shutil.copyfile(fg / "GT01.png", fg / "GT01.bmp")              # two foregrounds of one stem
    (fg / "GT03.png").rename(tmp_path / "GT03.png")                 # an alpha without its foreground
    (alpha / "GT02.png").unlink()                                   # a foreground without an alpha (RGB: fails)
    result = import_objects(fg, alpha, tmp_path / "ds")
    assert result.exit_code == 1
    expected = [
        {"item": str(fg), "error": "2 foreground files share the stem 'GT01' (GT01.bmp, GT01.png); "
                                   "none of them is used (rename or remove all but one)"},
        {"item": str(alpha / "GT03.png"), "error": "no matching foreground file (paired by file name stem); skipped"},
        {"item": f"GT02 ({fg / 'GT02.png'})",
         "error": f"{fg / 'GT02.png'}: no matching alpha file (paired by file name stem) and no alpha channel of its own"},
    ]
    dataset = open_dataset(tmp_path / "ds")
    assert dataset.ids == ["GT06"] and dataset.manifest["failures"] == expected
    assert "listing_problems" not in dataset.manifest["provenance"]
    # One line each, as recorded, and the count names them all.
    assert lines(result.stderr, "failed: ") == [f"failed: {f['item']}: {f['error']}" for f in expected]
    assert "3 items failed; the other 1 sample was written to" in result.stderr
    assert verify_dataset(tmp_path / "ds") == []
    # Rerun: up to date, the same failures, the same exit.
    again = import_objects(fg, alpha, tmp_path / "ds")
    assert again.exit_code == 1 and "up to date" in again.output and lines(again.stderr, "failed: ") == lines(result.stderr, "failed: ")


def test_an_all_zero_alpha_is_refused_at_import_naming_the_file(objects_copy, tmp_path):
    fg, alpha = objects_copy
    write_png(alpha / "GT02.png", np.zeros_like(read_alpha(alpha / "GT02.png")))
    result = import_objects(fg, alpha, tmp_path / "ds")
    assert result.exit_code == 1
    assert lines(result.stderr, "failed: ") == [
        f"failed: GT02 ({fg / 'GT02.png'}, {alpha / 'GT02.png'}): {alpha / 'GT02.png'}: alpha is all zero: nothing in it is object"]
    assert open_dataset(tmp_path / "ds").ids == ["GT01", "GT03", "GT06"]


def test_an_all_zero_rgba_alpha_channel_is_refused(objects_copy, tmp_path):
    fg, _ = objects_copy
    rgba = tmp_path / "rgba"
    rgba.mkdir()
    colour = read_image(fg / "GT01.png")
    write_png(rgba / "clear.png", np.dstack([colour, np.zeros(colour.shape[:2], np.uint8)]))
    write_png(rgba / "solid.png", np.dstack([colour, np.full(colour.shape[:2], 255, np.uint8)]))
    result = invoke("import", "objects", "--rgba", rgba, "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 1 and f"{rgba / 'clear.png'}: alpha channel is all zero" in result.stderr
    assert open_dataset(tmp_path / "ds").ids == ["solid"]


@pytest.mark.parametrize("annotation", ["masks", "alphas"])
def test_an_empty_benchmark_annotation_is_refused(shared_data, tmp_path, annotation):
    images, targets = tmp_path / "images", tmp_path / "targets"
    images.mkdir(), targets.mkdir()
    for stem in ("bool", "cross"):
        shutil.copyfile(shared_data / "grabcut" / "data_GT" / f"{stem}.jpg", images / f"{stem}.jpg")
        shutil.copyfile(shared_data / "grabcut" / "boundary_GT" / f"{stem}.bmp", targets / f"{stem}.bmp")
    blank = targets / "cross.bmp"
    Image.fromarray(np.zeros_like(np.asarray(Image.open(blank)))).save(blank)
    result = invoke("import", "images", "--images", images, f"--{annotation}", targets, "--out", tmp_path / "ds", "--no-progress")
    what = "mask (values above --threshold 0)" if annotation == "masks" else "alpha"
    assert result.exit_code == 1 and f"{blank}: {what} is all zero" in result.stderr, result.output
    assert open_dataset(tmp_path / "ds").ids == ["bool"]


def test_an_rgba_foregrounds_own_alpha_is_used_or_checked_never_dropped(objects_copy, shared_data, tmp_path):
    """GT01: no alpha file, its own channel is the alpha. GT02: its channel differs from the
    alpha file in one pixel: refused, naming both. GT03: a fully opaque channel says nothing
    and the file is used. GT06: its 8-bit channel equals the 16-bit file scaled by 257."""
    fg, alpha = objects_copy
    real = {stem: (read_image(fg / f"{stem}.png"), read_alpha(alpha / f"{stem}.png")) for stem in ("GT01", "GT02", "GT03", "GT06")}
    for stem, (colour, matte) in real.items():
        own = np.full_like(matte, 255) if stem == "GT03" else matte
        write_png(fg / f"{stem}.png", np.dstack([colour, own]))
    (alpha / "GT01.png").unlink()
    nudged = real["GT02"][1].copy()
    nudged[100, 100] ^= 1
    write_png(alpha / "GT02.png", nudged)
    write_png(alpha / "GT06.png", real["GT06"][1].astype(np.uint16) * 257)
    result = import_objects(fg, alpha, tmp_path / "ds")
    assert result.exit_code == 1
    assert lines(result.stderr, "failed: ") == [
        f"failed: GT02 ({fg / 'GT02.png'}, {alpha / 'GT02.png'}): {fg / 'GT02.png'}: its own alpha channel differs from "
        f"the alpha file {alpha / 'GT02.png'}; keep one of them (drop the channel or remove the file)"]
    dataset = open_dataset(tmp_path / "ds")
    assert dataset.ids == ["GT01", "GT03", "GT06"]
    for stem in dataset.ids:
        sample = dataset.get(stem)
        assert np.array_equal(sample["fg"], real[stem][0])
    assert np.array_equal(dataset.get("GT01")["alpha"], real["GT01"][1])          # from its own channel
    assert np.array_equal(dataset.get("GT03")["alpha"], real["GT03"][1])          # from the file
    gt06 = dataset.get("GT06")["alpha"]
    assert gt06.dtype == np.uint16 and np.array_equal(gt06, real["GT06"][1].astype(np.uint16) * 257)


def test_files_of_other_types_are_reported_as_skipped_and_recorded(shared_data, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted((shared_data / "coco_backgrounds").glob("*.jpg"))[:2]:
        shutil.copyfile(path, photos / path.name)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photos / "anim.gif")
    (photos / "notes.txt").write_text("where these came from")
    result = invoke("import", "backgrounds", photos, "--out", tmp_path / "ds", "--no-progress")
    line = (f"{photos}: 2 files not read, not of an image type read here "
            "(.png .jpg .jpeg .bmp .tif .tiff .webp .ppm .pgm): anim.gif, notes.txt")
    assert result.exit_code == 0, result.output           # a README beside the photos is no failed input
    assert lines(result.stderr, "skipped: ") == [f"skipped: {line}"]
    dataset = open_dataset(tmp_path / "ds")
    assert len(dataset) == 2 and dataset.manifest["failures"] == [] and dataset.manifest["provenance"]["skipped"] == [line]


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one row of pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 301)) + chunk(b"IEND", b"")


def test_an_over_large_image_is_one_line_naming_the_file(shared_data, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted((shared_data / "coco_backgrounds").glob("*.jpg"))[:2]:
        shutil.copyfile(path, photos / path.name)
    (photos / "huge.png").write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(ImageError, match=r"huge\.png: too large to decode: its header claims more pixels than OpenCV reads"):
        read_image(photos / "huge.png")
    result = invoke("import", "backgrounds", photos, "--out", tmp_path / "ds", "--no-progress")
    assert result.exit_code == 1 and "OpenCV(" not in result.output and "Traceback" not in result.output
    (line,) = lines(result.stderr, "failed: ")
    assert line.startswith(f"failed: huge ({photos / 'huge.png'}): {photos / 'huge.png'}: too large to decode")
    assert len(open_dataset(tmp_path / "ds")) == 2
