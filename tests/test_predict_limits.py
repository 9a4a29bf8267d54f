"""`training predict` refuses what would exhaust memory or load damaged weights, in one line and
before the work starts: an image whose header declares too many pixels is never decoded, a
checkpoint whose bytes changed or that is not a checkpoint at all is named."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from fba_training_data import tiny_fba_checkpoint
from test_checkpoint_integrity import _flip_inside
from typer.testing import CliRunner

from datagen.imageio import header_size, write_png
from training.cli import app


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG whose header declares width x height grey pixels, followed by one tiny (invalid)
    data chunk: a few hundred bytes that a decoder would try to expand to width x height."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_fba_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


def _predict(model, image, trimap, out, *extra):
    return CliRunner().invoke(app, ["predict", "--model", str(model), "--image", str(image), "--trimap", str(trimap),
                                    "--out", str(out), "--device", "cpu", *extra])


def test_a_400_mp_image_is_refused_from_its_header(checkpoint, tmp_path, monkeypatch):
    huge = tmp_path / "huge.png"
    _png_header_only(huge, 20000, 20000)
    assert huge.stat().st_size < 1_000 and header_size(huge) == (20000, 20000)
    monkeypatch.setattr("datagen.imageio._decode", lambda path: pytest.fail(f"decoded {path}"))
    result = _predict(checkpoint, huge, huge, tmp_path / "out")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0] == (f"error: {huge}: 20000x20000 is 400 MP, above the limit of 100 MP; downscale it first, "
                        "or raise --max-input-megapixels")
    assert not (tmp_path / "out").exists()


def test_the_input_limit_is_an_option(checkpoint, tmp_path):
    image = np.full((24, 40, 3), 90, np.uint8)
    trimap = np.full((24, 40), 128, np.uint8)
    write_png(tmp_path / "image.png", image)
    write_png(tmp_path / "trimap.png", trimap)
    refused = _predict(checkpoint, tmp_path / "image.png", tmp_path / "trimap.png", tmp_path / "a",
                       "--max-input-megapixels", "0.0009")
    assert refused.exit_code == 2 and "40x24 is 0.00096 MP, above the limit of 0.0009 MP" in refused.output
    assert _predict(checkpoint, tmp_path / "image.png", tmp_path / "trimap.png", tmp_path / "b").exit_code == 0


def test_a_damaged_or_foreign_checkpoint_is_one_line(checkpoint, tmp_path):
    image = np.full((24, 40, 3), 90, np.uint8)
    write_png(tmp_path / "image.png", image)
    write_png(tmp_path / "trimap.png", np.full((24, 40), 128, np.uint8))
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(checkpoint.read_bytes())
    entry = _flip_inside(damaged, "/data/")
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    for model, message in ((damaged, f"damaged: entry {entry!r} does not match its CRC-32"),
                           (text, "not a checkpoint file")):
        result = _predict(model, tmp_path / "image.png", tmp_path / "trimap.png", tmp_path / "out")
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], result.output
