"""Exported files (ONNX and TorchScript) run at sizes they were not traced at, carry their metadata,
and refuse wrong inputs in one line. The network here is a small stand-in with the operations that
make export hard (adaptive pooling into bins that do not divide the size, upsampling to the
input's size, a float64 step); the real networks are checked in the export tests of each."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from training.export.files import ExportError, TensorSpec, read_metadata, write_exported
from training.export.runtime import load_exported
from training.models.pooling import adaptive_avg_pool2d


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(5, 4, 3, padding=1)
        self.head = nn.Conv2d(4 * 5, 2, 1)

    def forward(self, image, maps):
        x = F.relu(self.conv(torch.cat([image, maps], 1)))
        small = F.avg_pool2d(x, 8)
        pooled = [F.interpolate(adaptive_avg_pool2d(small, b), size=x.shape[-2:], mode="bilinear",
                                align_corners=False) for b in (1, 2, 3, 6)]
        y = self.head(torch.cat([x, *pooled], 1))
        return torch.sigmoid(y.double() * 2).float()


def _inputs(h: int, w: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, h, w, generator=g), torch.rand(1, 2, h, w, generator=g)


@pytest.mark.parametrize("suffix", [".onnx", ".torchscript"])
def test_an_exported_file_computes_the_network_at_any_size(tmp_path, suffix):
    net = Toy().eval()
    path = write_exported(net, dict(zip(("image", "maps"), _inputs(48, 48))), [TensorSpec("out", 2)],
                          tmp_path / f"toy{suffix}", {"network": "toy", "config": {"data": {"sigmas": [1.5]}}})
    exported = load_exported(path)
    for h, w in ((48, 48), (200, 328), (96, 104), (8, 40)):
        inputs = _inputs(h, w, seed=h)
        with torch.no_grad():
            expected = net(*inputs)
        got = exported(*inputs)
        assert got.shape == expected.shape
        assert (got - expected).abs().max().item() <= 1e-5, (h, w)
    metadata = read_metadata(path)
    assert metadata["network"] == "toy" and metadata["config"] == {"data": {"sigmas": [1.5]}}
    assert metadata["inputs"] == [{"name": "image", "channels": 3}, {"name": "maps", "channels": 2}]
    with pytest.raises(ExportError, match=r"input 'maps' takes Nx2xHxW, got \(1, 3, 16, 16\)"):
        exported(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ExportError, match="takes 2 inputs"):
        exported(torch.zeros(1, 3, 16, 16))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file was left"


def test_files_that_are_not_exports_are_one_line(tmp_path):
    with pytest.raises(ExportError, match=r"the export format follows the extension: \.onnx, \.torchscript"):
        read_metadata(tmp_path / "model.pt")
    (tmp_path / "notes.onnx").write_text("not a model")
    with pytest.raises(ExportError, match="notes.onnx: not a readable onnx file"):
        read_metadata(tmp_path / "notes.onnx")
    with pytest.raises(ExportError, match="missing.torchscript: no such file"):
        read_metadata(tmp_path / "missing.torchscript")
    plain = torch.jit.trace(nn.Conv2d(1, 1, 1), torch.zeros(1, 1, 4, 4))
    torch.jit.save(plain, str(tmp_path / "plain.torchscript"))
    with pytest.raises(ExportError, match="without this package's metadata"):
        read_metadata(tmp_path / "plain.torchscript")
