"""The demo's core without the web page: one model call per click, undo without one, large uploads
scaled for the model and results scaled back, exports, and bad input turned into messages.

A fake model whose answer is known (a disc around the last positive click) is the truth.
"""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest

from training.demo.session import DemoInputError, Session, load_demo_model, parse_colour, read_upload, working_scale


class DiscModel:
    """predict_iseg: 1 inside a disc of `radius` px around the last positive click; counts calls."""

    def __init__(self, radius: int = 20):
        self.radius = radius
        self.calls: list[tuple[tuple, list, np.ndarray]] = []

    def predict_iseg(self, image, clicks, prev_mask):
        self.calls.append((image.shape, list(clicks), prev_mask.copy()))
        y, x = next((c[0], c[1]) for c in reversed(clicks) if c[2])
        yy, xx = np.indices(image.shape[:2])
        return ((yy - y) ** 2 + (xx - x) ** 2 <= self.radius**2).astype(np.float32)


class TrimapModel:
    def predict_matting(self, image, trimap):
        return (trimap / 255.0).astype(np.float32)


def _disc(shape, y, x, radius) -> np.ndarray:
    yy, xx = np.indices(shape)
    return (yy - y) ** 2 + (xx - x) ** 2 <= radius**2


def test_each_click_is_one_model_call_and_undo_is_none():
    model = DiscModel()
    session = Session(np.zeros((100, 120, 3), np.uint8))
    first = session.click(model, "iseg", 30, 40, True)
    second = session.click(model, "iseg", 70, 90, True)
    assert len(model.calls) == 2
    assert model.calls[1][1] == [(30, 40, True), (70, 90, True)]
    assert np.array_equal(model.calls[1][2], first), "the previous result is passed as prev_mask"
    assert np.array_equal(second, _disc((100, 120), 70, 90, 20))
    session.undo()
    assert len(model.calls) == 2 and session.clicks == [(30, 40, True)]
    assert np.array_equal(session.current, first)
    session.reset()
    assert session.clicks == [] and not session.current.any()


def test_a_large_upload_is_scaled_for_the_model_and_the_result_back():
    model = DiscModel(radius=50)
    image = np.zeros((1000, 2000, 3), np.uint8)
    session = Session(image, max_pixels=500_000)
    assert session.work.shape == (500, 1000, 3) and session.scaled
    assert "scaled to 1000x500" in session.note() and "scaled back to 2000x1000" in session.note()
    session.click(model, "iseg", 100, 200, True)
    assert model.calls[0][0] == (500, 1000, 3)
    exports = session.exports("iseg", (0, 255, 0))
    truth = _disc((1000, 2000), 200, 400, 100)
    mask = exports["mask"] == 255
    assert mask.shape == truth.shape
    assert (mask & truth).sum() / (mask | truth).sum() > 0.97
    assert np.array_equal(exports["foreground"][..., 3] == 255, mask)
    assert np.array_equal(exports["composite"][~mask], np.tile([0, 255, 0], ((~mask).sum(), 1)))


def test_working_scale_keeps_at_most_the_limit():
    scale = working_scale((3000, 2000), 1_000_000)
    assert scale == pytest.approx((1e6 / 6e6) ** 0.5)
    assert working_scale((800, 600), 1_000_000) == 1.0


def test_trimap_models_run_once_on_the_trimap():
    session = Session(np.zeros((40, 60, 3), np.uint8))
    trimap = np.zeros((40, 60), np.uint8)
    trimap[:, 20:40] = 120          # rounded to the unknown level
    trimap[:, 40:] = 250            # rounded to foreground
    alpha = session.set_trimap(TrimapModel(), trimap)
    assert np.allclose(alpha[:, 25], 128 / 255) and np.allclose(alpha[:, 50], 1.0) and not alpha[:, :20].any()
    with pytest.raises(DemoInputError, match="takes a trimap"):
        session.click(TrimapModel(), "matting", 5, 5, True)
    with pytest.raises(DemoInputError, match="the trimap is 10x10"):
        session.set_trimap(TrimapModel(), np.zeros((10, 10), np.uint8))


def test_clicks_outside_the_picture_are_refused():
    with pytest.raises(DemoInputError, match="outside the 60x40 picture"):
        Session(np.zeros((40, 60, 3), np.uint8)).click(DiscModel(), "iseg", 40, 10, True)


def test_bad_uploads_become_messages_naming_the_file(tmp_path, monkeypatch):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(DemoInputError, match="notes.png: not a picture"):
        read_upload(str(text))
    huge = tmp_path / "huge.png"
    cv2.imwrite(str(huge), np.zeros((6250, 8000), np.uint8))          # 50 MP of zeros: a small file
    monkeypatch.setattr("datagen.imageio.read_image", lambda path: pytest.fail("decoded a refused upload"))
    with pytest.raises(DemoInputError, match="huge.png: 8000x6250 is 50 MP, above the demo's limit of 40 MP"):
        read_upload(str(huge))
    monkeypatch.undo()
    grey16 = tmp_path / "grey16.png"
    cv2.imwrite(str(grey16), np.full((8, 9), 65535, np.uint16))
    image = read_upload(str(grey16))
    assert image.shape == (8, 9, 3) and image.dtype == np.uint8 and (image == 255).all()


def test_models_are_those_evaluate_accepts_and_failures_are_messages(monkeypatch):
    assert load_demo_model("baseline:grabcut")[1] == "iseg"
    assert load_demo_model("baseline:closed_form")[1] == "matting"
    assert load_demo_model("baseline:scribble_cf")[1] == "imatting"
    with pytest.raises(DemoInputError, match="nope"):
        load_demo_model("baseline:nope")
    with pytest.raises(DemoInputError, match="cannot import"):
        load_demo_model("no_such_package.models:make")

    def broken():
        raise RuntimeError("weights file missing")

    module = types.ModuleType("demo_fake_models")
    module.broken = broken
    monkeypatch.setitem(sys.modules, "demo_fake_models", module)
    with pytest.raises(DemoInputError, match="weights file missing"):
        load_demo_model("demo_fake_models:broken")


def test_a_model_is_built_once_and_its_task_read_off_it(monkeypatch):
    """A matting-only factory: the demo used to build it once per protocol it tried (three times
    for a checkpoint, too); now once, and a model with no contract method is one message."""
    built = []

    class MattingOnly:
        def predict_matting(self, image, trimap):
            return np.zeros(trimap.shape, np.float32)

    module = types.ModuleType("demo_counted_models")
    module.make = lambda: built.append(1) or MattingOnly()
    module.nothing = object
    monkeypatch.setitem(sys.modules, "demo_counted_models", module)
    assert load_demo_model("demo_counted_models:make")[1] == "matting" and len(built) == 1
    with pytest.raises(DemoInputError, match=r"has none of predict_iseg\(\), predict_imatting\(\), predict_matting\(\)"):
        load_demo_model("demo_counted_models:nothing")


def test_colours_from_the_picker():
    assert parse_colour("#00ff80") == (0, 255, 128)
    assert parse_colour("#fff") == (255, 255, 255)
    assert parse_colour("rgba(10, 20, 30, 1)") == (10, 20, 30)
    assert parse_colour(None) == (0, 255, 0)
    with pytest.raises(DemoInputError, match="not a colour"):
        parse_colour("#zzzzzz")


class RecordingModel:
    """Returns a fixed map and records what it was given back (the contracts' prev_mask / prev_alpha)."""

    def __init__(self, output):
        self.output, self.previous = output, []

    def predict_iseg(self, image, clicks, prev_mask):
        self.previous.append(prev_mask.copy())
        return self.output

    predict_imatting = predict_iseg


def test_previous_outputs_go_back_as_the_contracts_say():
    raw = np.full((4, 5), 1.7, np.float32)
    raw[0, 0] = -0.3
    iseg = RecordingModel(raw)
    session = Session(np.zeros((4, 5, 3), np.uint8))
    session.click(iseg, "iseg", 1, 1, True)
    session.click(iseg, "iseg", 2, 2, True)
    assert np.array_equal(iseg.previous[1], raw), "iseg: the model's own output, not clipped"
    assert session.exports("iseg", (0, 0, 0))["alpha"].max() == 255 and session.shown.min() == 0.0
    soft = np.full((4, 5), 0.3004, np.float32)
    imatting = RecordingModel(soft)
    session = Session(np.zeros((4, 5, 3), np.uint8))
    session.click(imatting, "imatting", 1, 1, True)
    session.click(imatting, "imatting", 2, 2, False)
    assert np.allclose(imatting.previous[1], 77 / 255), "imatting: the previous alpha quantised to 8 bits"
