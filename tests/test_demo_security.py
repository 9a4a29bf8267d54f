"""The demo page runs no code a visitor picks (docs/demo.md): it loads only the models its operator
offered, its model cache is bounded and never blocks on a load, and its files go when it stops.

The HTTP tests attack a real `training demo` process on 127.0.0.1 through Gradio's own client, as
a visitor's script would: factory specs (`os:abort` kills the server, `tempfile:mkdtemp` writes to
disk) and the server path of an uploaded checkpoint must all be refused, and the server must keep
serving.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest

from training.demo.offer import ModelCache, ModelOffer
from training.demo.session import DemoInputError

from demo_server import demo_server, free_port


def test_the_offer_is_the_model_the_allowed_checkpoints_and_the_baselines(tmp_path):
    checkpoint = tmp_path / "run.pt"
    checkpoint.write_bytes(b"")
    offer = ModelOffer.from_command_line("baseline:grabcut", [checkpoint])
    assert offer.choices()[:2] == ["baseline:grabcut", str(checkpoint)]
    assert "baseline:closed_form" in offer.choices()
    assert offer.check(f" {checkpoint} ") == str(checkpoint)
    for refused in ("os:abort", "signal:pause", "tempfile:mkdtemp", "/tmp/gradio/abc/upload.pt", str(tmp_path / "other.pt"), ""):
        with pytest.raises(DemoInputError, match="not offered by this server"):
            offer.check(refused)
    with pytest.raises(DemoInputError, match="--allow .*missing.pt: no such checkpoint file"):
        ModelOffer.from_command_line("baseline:grabcut", [tmp_path / "missing.pt"])


def test_a_factory_spec_from_the_page_is_never_imported_or_called(monkeypatch):
    calls = []
    module = types.ModuleType("demo_attack")
    module.boom = lambda: calls.append("called")
    monkeypatch.setitem(sys.modules, "demo_attack", module)
    models = ModelCache(ModelOffer("baseline:grabcut"))
    with pytest.raises(DemoInputError, match="not offered"):
        models.get("demo_attack:boom")
    assert calls == [] and len(models) == 0
    # the operator may start the server with a factory: only then is it loaded
    operator = ModelCache(ModelOffer("demo_attack:boom"), load=lambda spec: (calls.append(spec), "iseg"))
    operator.get("demo_attack:boom")
    assert calls == ["demo_attack:boom"]


def test_the_cache_holds_at_most_its_capacity():
    loads = []
    models = ModelCache(ModelOffer("baseline:grabcut"), capacity=2, load=lambda spec: (loads.append(spec) or spec, "iseg"))
    for spec in ("baseline:grabcut", "baseline:knn", "baseline:grabcut", "baseline:closed_form", "baseline:knn"):
        models.get(spec)
    assert len(models) == 2
    # grabcut was used last before closed_form came in, so knn went out and had to be loaded again
    assert loads == ["baseline:grabcut", "baseline:knn", "baseline:closed_form", "baseline:knn"]


def test_a_slow_load_does_not_block_other_models():
    started, release = threading.Event(), threading.Event()

    def load(spec: str):
        if spec == "baseline:knn":
            started.set()
            assert release.wait(30), "the slow load was never released"
        return object(), "iseg"

    models = ModelCache(ModelOffer("baseline:grabcut"), load=load)
    slow = threading.Thread(target=models.get, args=("baseline:knn",))
    slow.start()
    assert started.wait(30)
    try:
        done = threading.Event()
        other = threading.Thread(target=lambda: (models.get("baseline:grabcut"), done.set()))
        other.start()
        assert done.wait(30), "another model waited for the slow load: the cache held its lock while loading"
    finally:
        release.set()
        slow.join(30)
    assert len(models) == 2


@pytest.mark.slow
def test_visitors_cannot_make_the_server_run_code(tmp_path):
    import httpx
    from gradio_client import Client

    temp = tmp_path / "tmp"
    temp.mkdir()
    crafted = tmp_path / "huge.pt"          # uploaded files are never models, whatever they hold
    crafted.write_bytes(b"PK\x03\x04 not loaded")
    with demo_server(tmp_path, "--model", "baseline:grabcut", env={"TMPDIR": str(temp)}) as server:
        client = Client(server.url, verbose=False)
        with open(crafted, "rb") as stream:     # the route returns the server path of the upload
            uploaded = httpx.post(server.url + "gradio_api/upload", files={"files": stream}, timeout=60).json()
        attacks = ["os:abort", "signal:pause", "tempfile:mkdtemp", "demo_server:free_port", uploaded[0]]
        for spec in attacks:
            try:
                answer = client.predict(spec, api_name="/load_model")
                assert "not offered" in str(answer), answer
            except Exception as error:  # noqa: BLE001 - Gradio's refusal of a value not in the list
                assert "not in the list of choices" in str(error) or "not offered" in str(error), error
            assert server.alive(), f"{spec} stopped the server: {server.output()[-1000:]}"
        assert "(iseg)" in str(client.predict("baseline:grabcut", api_name="/load_model"))
        folders = [p.name for p in temp.iterdir()]
        assert len(folders) == 1 and folders[0].startswith("training-demo-"), folders   # mkdtemp never ran
        assert Path(uploaded[0]).is_relative_to(temp / folders[0]), uploaded
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.output()[-1000:]
    assert list(temp.iterdir()) == [], "the demo's uploads and downloads outlived the server"


def test_the_server_checks_its_model_and_port_before_serving(tmp_path):
    missing = subprocess.run([sys.executable, "-m", "training.cli", "demo", "--model", str(tmp_path / "none.pt")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "serving on" not in missing.stdout
    assert missing.stderr.strip().splitlines() == [f"error: checkpoint {tmp_path / 'none.pt'} not found"], missing.stderr
    port = free_port()
    with __import__("socket").socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        taken = subprocess.run([sys.executable, "-m", "training.cli", "demo", "--model", "baseline:grabcut",
                                "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert taken.returncode == 2 and "serving on" not in taken.stdout
    assert f"port {port} on 127.0.0.1 is in use; choose another with --port" in taken.stderr, taken.stderr
