"""`training export` of the three networks (tiny configs, and the published variants at tiny width):
the exported files against the checkpoints' torch networks at sizes that are not multiples of 48,
`training predict` on exported files against the checkpoints, the folded weight standardisation
against hand-computed formulas, the float64 guided filter inside the ONNX graph, and the one-line
refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fba_training_data import real_predict_files
from network_variants import VARIANTS, variant_network
from typer.testing import CliRunner

from datagen.imageio import read_alpha, read_image
from training.checkpoint import EXPORTED_SUFFIXES, load_checkpoint, model_payload, restore_network, save_checkpoint
from training.cli import app
from training.config import config_to_dict
from training.evaluation.models import build_model
from training.export.files import SUFFIXES, ExportError, read_metadata
from training.export.runtime import load_exported
from training.inference import load_predictor
from training.inference.export import export_checkpoint
from training.models.gnws import WSConv2d, fold_weight_standardisation
from training.networks import NETWORKS

SIZES = ((200, 328), (96, 104), (48, 64))
"""Height x width of the parity checks: the first two are not multiples of 48 (the pyramid pooling's
bins then overlap), all are multiples of 8 as the exported forward takes them."""
EXPORTS = [(v, ".onnx") for v in VARIANTS] + [("fba", ".torchscript"), ("imatting", ".torchscript"),
                                               ("iseg-published", ".torchscript")]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for variant in VARIANTS:
        network, cfg, net = variant_network(variant)
        paths[variant] = save_checkpoint(root / f"{variant}.pt", model_payload(network, cfg["model"].to_dict(), net,
                                                                               config_to_dict(cfg)))
    return paths


@pytest.fixture(scope="module")
def exported(checkpoints, tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    return {(variant, suffix): export_checkpoint(checkpoints[variant], root / f"{variant}{suffix}").path
            for variant, suffix in EXPORTS}


def _torch_network(path):
    state = load_checkpoint(path)
    parts = NETWORKS[state["network"]].parts()
    return restore_network(path, state, parts.model, parts.config).eval()


def _inputs(network: str, h: int, w: int, seed: int) -> list[torch.Tensor]:
    """Inputs as predict makes them: 0/1 trimap masks (never both), click maps exactly 1 at clicks."""
    g = torch.Generator().manual_seed(seed)
    tensors = [torch.rand(1, c, h, w, generator=g) for _, c in NETWORKS[network].exported_inputs]
    if network == "iseg":
        tensors[1][:, 0, h // 3, w // 4] = 1.0
        tensors[1][:, 3, h // 2, w // 2] = 1.0
    else:
        draw = torch.rand(1, 1, h, w, generator=g)
        tensors[1] = torch.cat([draw > 0.7, draw < 0.2], 1).float()
    return tensors


@pytest.mark.parametrize("variant, suffix", EXPORTS)
def test_exported_network_equals_the_checkpoint_at_any_size(checkpoints, exported, variant, suffix, one_thread):
    network = VARIANTS[variant][0]
    net, file_net = _torch_network(checkpoints[variant]), load_exported(exported[variant, suffix])
    for h, w in SIZES:
        inputs = _inputs(network, h, w, seed=h + w)
        with torch.no_grad():
            expected = net(*inputs)
        got = file_net(*inputs)
        assert got.shape == expected.shape and got.dtype == torch.float32
        assert (got - expected).abs().max().item() <= 1e-4, (variant, suffix, h, w)
    metadata = read_metadata(exported[variant, suffix])
    state = load_checkpoint(checkpoints[variant])
    assert metadata["network"] == network and metadata["model_config"] == json.loads(json.dumps(state["model_config"]))
    assert metadata["outputs"] == [{"name": n, "channels": c} for n, c in NETWORKS[network].exported_outputs]
    assert metadata["inputs"] == [{"name": n, "channels": c} for n, c in NETWORKS[network].exported_inputs]


def test_the_guided_filter_runs_in_float64_inside_the_onnx_graph(exported):
    import onnx

    graph = onnx.load(str(exported["iseg-published", ".onnx"])).graph
    to_double = [n for n in graph.node if n.op_type == "Cast"
                 and any(a.name == "to" and a.i == onnx.TensorProto.DOUBLE for a in n.attribute)]
    assert len(to_double) == 2                           # the guide and the mask, nothing else
    assert sum(n.op_type == "CumSum" for n in graph.node) >= 4


@pytest.mark.parametrize("formula", ["std", "dis", "fba"])
def test_folded_weight_standardisation_is_the_formula_and_changes_nothing_else(formula):
    net = torch.nn.Sequential(WSConv2d(2, 3, 3, padding=1, ws=formula), torch.nn.ReLU(),
                              torch.nn.Sequential(WSConv2d(3, 1, 1, bias=False, ws=formula)))
    torch.manual_seed(0)
    for p in net.parameters():
        p.data.uniform_(-1, 1)
    folded = fold_weight_standardisation(net)
    assert not any(isinstance(m, WSConv2d) for m in folded.modules())
    assert all(isinstance(m, WSConv2d) for m in (net[0], net[2][0]))            # the original is untouched
    w = net[0].weight.detach().double().numpy().reshape(3, -1)
    centred = w - w.mean(1, keepdims=True)
    by_hand = {"std": centred / (centred.std(1, ddof=1, keepdims=True) + 1e-5),
               "dis": centred / (np.sqrt(centred.var(1, ddof=1, keepdims=True) + 1e-12) + 1e-5),
               "fba": centred / np.sqrt(centred.var(1, keepdims=True) + 1e-5)}[formula]
    np.testing.assert_allclose(folded[0].weight.detach().numpy().reshape(3, -1), by_hand, rtol=1e-5, atol=1e-6)
    x = torch.rand(1, 2, 9, 7)
    with torch.no_grad():
        assert torch.equal(folded(x), net(x))


@pytest.fixture(scope="module")
def real_files(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    real_predict_files(shared_data, root)
    (root / "clicks.json").write_text(json.dumps([[40, 70, True], [5, 5, False], [60, 30, True]]))
    return root


def _predict(model, files, out, *extra):
    given = ["--clicks", str(files / "clicks.json")] if "iseg" in str(model) else ["--trimap", str(files / "trimap.png")]
    return CliRunner().invoke(app, ["predict", "--model", str(model), "--image", str(files / "image.png"), *given,
                                    "--out", str(out), "--device", "cpu", *extra])


@pytest.mark.parametrize("variant, suffix", [("fba", ".onnx"), ("fba-published", ".onnx"), ("imatting", ".torchscript"),
                                             ("iseg", ".onnx"), ("iseg-published", ".onnx")])
def test_predict_on_an_exported_file_writes_the_checkpoints_pictures(checkpoints, exported, real_files, tmp_path,
                                                                    variant, suffix, one_thread):
    extra = ("--max-megapixels", "0.01") if variant == "iseg" else ()   # the scaled path too (13,950 px image)
    for name, model in (("ckpt", checkpoints[variant]), ("file", exported[variant, suffix])):
        result = _predict(model, real_files, tmp_path / name, *extra)
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "file").iterdir()) and len(names) >= 3
    for name in names:
        a, b = (read_image(tmp_path / d / name) if name != "mask.png" else read_alpha(tmp_path / d / name)
                for d in ("ckpt", "file"))
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).max() <= 1, name


def test_exported_files_go_wherever_a_checkpoint_model_goes(checkpoints, exported):
    """load_predictor gives the checkpoint's predictor class; evaluate and demo specs take the files."""
    for (variant, _), path in exported.items():
        from_file, from_checkpoint = load_predictor(path, device="cpu"), load_predictor(checkpoints[variant], device="cpu")
        assert type(from_file) is type(from_checkpoint)
        assert type(build_model(str(path))) is type(from_checkpoint)
    assert load_predictor(exported["fba-published", ".onnx"], device="cpu").fused_by_net
    image = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    clicks = [(10, 20, True), (30, 5, False)]
    probs = [load_predictor(p, device="cpu").predict_sequence(image, clicks)[-1]
             for p in (checkpoints["iseg-published"], exported["iseg-published", ".onnx"])]
    np.testing.assert_allclose(probs[1], probs[0], atol=1e-4)


def test_wrong_inputs_and_checkpoint_only_uses_are_one_line(checkpoints, exported, real_files, tmp_path):
    assert set(EXPORTED_SUFFIXES) == set(SUFFIXES)
    net = load_exported(exported["iseg", ".onnx"])
    with pytest.raises(ExportError, match=r"input 'click_maps' takes Nx6xHxW, got \(1, 2, 16, 16\)"):
        net(torch.zeros(1, 3, 16, 16), torch.zeros(1, 2, 16, 16), torch.zeros(1, 1, 16, 16))
    with pytest.raises(ExportError, match="height and width multiples of 8, got"):
        net(torch.zeros(1, 3, 16, 20), torch.zeros(1, 6, 16, 20), torch.zeros(1, 1, 16, 20))
    onnx_file = exported["fba", ".onnx"]
    runner = CliRunner()
    cases = [
        (["export", "--model", str(onnx_file), "--out", str(tmp_path / "again.onnx")], "an exported network"),
        (["export", "--model", str(checkpoints["fba"]), "--out", str(tmp_path / "x.pt")], "follows the extension"),
        (["export", "--model", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "x.onnx")], "no such file"),
        (["fit", "fba", "--config", "tiny", "--matting", str(tmp_path), "--init", str(onnx_file),
          "--out", str(tmp_path / "run"), "--device", "cpu", "--no-progress"], "an exported network"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        lines = result.output.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and message in lines[0], (args, result.output)
    result = _predict(exported["iseg", ".onnx"], real_files, tmp_path / "p", "--tta")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "test-time augmentation is for matting" in lines[0]
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "x.onnx").exists()
