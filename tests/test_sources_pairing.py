"""`pair_by_stem`: the one pairing rule of every importer, on folders with hand-known answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.importing import ImporterError
from datagen.sources.pairing import Folder, pair_by_stem


def _folder(root: Path, name: str, files: list[str]) -> Path:
    folder = root / name
    folder.mkdir()
    for file_name in files:
        (folder / file_name).write_bytes(b"")  # pairing reads names only
    return folder


def test_pairs_by_stem_across_suffixes_sorted_and_reports_orphans(tmp_path):
    images = _folder(tmp_path, "img", ["b.jpg", "a.png", "c.png", "notes.txt"])
    masks = _folder(tmp_path, "gt", ["a.bmp", "b.png", "d.png"])
    pairing = pair_by_stem(Folder(images, "image"), Folder(masks, "mask"))
    assert pairing.items == [("a", str(images / "a.png"), str(masks / "a.bmp")), ("b", str(images / "b.jpg"), str(masks / "b.png"))]
    assert pairing.duplicates == []
    assert [str(f) for f in pairing.unpaired] == [f"{images / 'c.png'}: no matching mask file (paired by file name stem); skipped",
                                                  f"{masks / 'd.png'}: no matching image file (paired by file name stem); skipped"]
    assert [f.item for f in pairing.unpaired] == [str(images / "c.png"), str(masks / "d.png")]
    assert pairing.unsupported == [f"{images}: 1 file not read, not of an image type read here "
                                   "(.png .jpg .jpeg .bmp .tif .tiff .webp .ppm .pgm): notes.txt"]


def test_a_duplicated_stem_pairs_no_file_in_any_folder(tmp_path):
    images = _folder(tmp_path, "img", ["a.png", "b.png"])
    masks = _folder(tmp_path, "gt", ["a.png", "a.jpg", "b.png"])
    pairing = pair_by_stem(Folder(images, "image"), Folder(masks, "mask"))
    assert [item[0] for item in pairing.items] == ["b"]
    assert [str(f) for f in pairing.duplicates] == [f"{masks}: 2 mask files share the stem 'a' (a.jpg, a.png); "
                                                    "none of them is used (rename or remove all but one)"]
    assert pairing.duplicates[0].item == str(masks)
    assert pairing.unpaired == []  # images/a.png is covered by the duplicate line, not reported again
    assert pairing.problems == pairing.duplicates


def test_optional_folder_pairs_with_none(tmp_path):
    fg = _folder(tmp_path, "fg", ["rgba.png", "x.png"])
    alpha = _folder(tmp_path, "alpha", ["x.png", "stray.png"])
    pairing = pair_by_stem(Folder(fg, "foreground"), Folder(alpha, "alpha", required=False))
    assert pairing.items == [("rgba", str(fg / "rgba.png"), None), ("x", str(fg / "x.png"), str(alpha / "x.png"))]
    assert [str(f) for f in pairing.unpaired] == [f"{alpha / 'stray.png'}: no matching foreground file (paired by file name stem); skipped"]


def test_unusable_folders_are_one_clear_error(tmp_path):
    with pytest.raises(ImporterError, match="backgrounds folder does not exist"):
        pair_by_stem(Folder(tmp_path / "nope", "backgrounds"))
    with pytest.raises(ImporterError, match=r"holds no image files \(.png .jpg .*\); it holds notes.txt, readme.txt$"):
        pair_by_stem(Folder(_folder(tmp_path, "empty", ["readme.txt", "notes.txt"]), "backgrounds"))
    with pytest.raises(ValueError, match="at least one required folder"):
        pair_by_stem(Folder(tmp_path, "alpha", required=False))


def test_refit_folders_follow_the_same_rule(tmp_path):
    from datagen.refit.objects import folder_refs

    fg = _folder(tmp_path, "fg", ["a.png", "b.png"])
    alpha = _folder(tmp_path, "alpha", ["a.png"])
    refs = folder_refs(fg, alpha)
    assert [(r.id, r.alpha_path) for r in refs] == [("a", str(alpha / "a.png")), ("b", None)]  # b: its own alpha channel
    (alpha / "a.jpg").write_bytes(b"")
    with pytest.raises(ImporterError, match=r"2 alpha files share the stem 'a' \(a\.jpg, a\.png\)"):
        folder_refs(fg, alpha)
