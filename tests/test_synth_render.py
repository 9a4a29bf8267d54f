"""Rendering synthetic samples from recipes, checked against traceable solid-colour scenes."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from test_synth_banks import COLOURS, build_banks

from datagen.compose.blend import blend_rounded
from datagen.shards import open_dataset, validate_sample
from datagen.synth.matting import render_matting
from datagen.synth.recipe import Banks, SynthParams, plan
from datagen.synth.render import render
from datagen.synth.schedule import primary_object
from datagen.synth.seg import render_seg

# No photometric change: every object keeps its exact bank colour.
PLAIN = SynthParams(size=64, gamma=(1.0, 1.0), brightness=(1.0, 1.0), saturation=(1.0, 1.0))


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    objects, backgrounds = build_banks(tmp_path_factory.mktemp("banks"))
    return Banks(open_dataset(objects), open_dataset(backgrounds))


def test_mask_is_exactly_primary_alpha_above_half(banks):
    params = replace(PLAIN, gamma=(0.7, 1.4), saturation=(0.5, 1.5))
    for index in range(30):
        recipe = plan("seg", params, 3, index, banks)
        sample, layers = render_seg(recipe, banks)
        validate_sample("seg", sample)
        assert np.array_equal(sample["alpha"], layers["primary"])
        assert np.array_equal(sample["mask"], (sample["alpha"].astype(float) / 255 > 0.5).astype(np.uint8))
        assert sample["mask"].any()


def test_distractor_is_in_the_image_and_never_in_the_mask(banks):
    seen = 0
    for index in range(40):
        recipe = plan("seg", replace(PLAIN, extra_p=1.0), 5, index, banks)
        sample, layers = render_seg(recipe, banks)
        primary, distractor = recipe["layers"][1], recipe["layers"][0]
        assert (primary["role"], distractor["role"]) == ("primary", "distractor")
        assert distractor["id"] != primary["id"]
        p_colour = COLOURS[int(primary["id"][3:])]
        d_colour = COLOURS[int(distractor["id"][3:])]
        image, mask = sample["image"], sample["mask"]
        # Independent of the renderer's own bookkeeping: colours tell which object a pixel shows.
        shows_distractor = (image == d_colour).all(axis=2)
        shows_primary = (image == p_colour).all(axis=2)
        assert not mask[shows_distractor].any()
        assert mask[shows_primary].all()
        seen += shows_distractor.any()
        # Removing the distractor from the recipe changes the image, never mask or alpha.
        alone = render(dict(recipe, layers=[primary]), banks)
        assert np.array_equal(alone["mask"], mask) and np.array_equal(alone["alpha"], sample["alpha"])
        if (layers["distractor"] > 0).any() and (layers["primary"] == 0)[layers["distractor"] > 0].any():
            assert not np.array_equal(alone["image"], image)
    assert seen > 30  # the distractor is actually visible in most samples


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_distractor_rate_matches_p(banks, p):
    n = 1500
    hits = sum(len(plan("seg", replace(PLAIN, extra_p=p), 11, i, banks)["layers"]) == 2 for i in range(n))
    # Stated tolerance: 4 binomial standard deviations (false-alarm rate ~6e-5).
    assert abs(hits / n - p) <= 4 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_every_object_is_primary_equally_often(banks):
    m = len(banks.objects)
    assert sorted(primary_object(9, i, m) for i in range(m)) == list(range(m))
    counts = np.bincount([primary_object(9, i, m) for i in range(5 * m + 4)], minlength=m)
    assert set(counts) <= {5, 6} and counts.sum() == 5 * m + 4
    recipes = [plan("seg", PLAIN, 9, i, banks) for i in range(3 * m)]
    ids = [r["layers"][-1]["id"] for r in recipes]
    assert sorted(ids) == sorted(banks.objects.ids * 3)
    # Pure function of (seed, index, bank size): the call order does not matter.
    assert [primary_object(9, i, m) for i in reversed(range(2 * m))] == [primary_object(9, i, m) for i in range(2 * m)][::-1]
    assert [primary_object(9, i, m) for i in range(m)] != [primary_object(10, i, m) for i in range(m)]


def test_recipe_is_json_and_rerenders_identically(banks):
    recipe = plan("seg", replace(SynthParams(size=48), jpeg_p=1.0, blur_p=1.0, noise_p=1.0), 2, 7, banks)
    again = json.loads(json.dumps(recipe))
    a, b = render(recipe, banks), render(again, banks)
    for field in ("image", "mask", "alpha"):
        assert np.array_equal(a[field], b[field])
    assert plan("seg", PLAIN, 2, 7, banks) == plan("seg", PLAIN, 2, 7, banks)
    assert plan("seg", PLAIN, 2, 7, banks) != plan("seg", PLAIN, 2, 8, banks)


def test_realism_degrades_the_image_only(banks):
    recipe = plan("seg", PLAIN, 4, 1, banks)
    clean = render(recipe, banks)
    dirty = render(dict(recipe, realism={"jpeg": 70, "blur": 1.0, "noise": 3.0, "noise_seed": 1}), banks)
    assert not np.array_equal(clean["image"], dirty["image"])
    assert np.abs(clean["image"].astype(int) - dirty["image"]).mean() < 12
    assert np.array_equal(clean["mask"], dirty["mask"]) and np.array_equal(clean["alpha"], dirty["alpha"])


def test_matting_fields_satisfy_the_compositing_equation(banks):
    second = 0
    for index in range(20):
        recipe = plan("matting", replace(PLAIN, extra_p=0.5), 6, index, banks)
        sample = render_matting(recipe, banks)
        validate_sample("matting", sample)
        assert np.array_equal(sample["image"], blend_rounded(sample["fg"], sample["bg"], sample["alpha"]))
        primary_only = render_matting(dict(recipe, layers=recipe["layers"][-1:]), banks)
        if len(recipe["layers"]) == 2:
            second += 1
            assert recipe["layers"][0]["role"] == "second"
            assert (sample["alpha"] >= primary_only["alpha"]).all()
            assert sample["alpha"].sum() > primary_only["alpha"].sum()
        else:
            assert np.array_equal(sample["alpha"], primary_only["alpha"])
        # Where only the primary covers a pixel fully, fg is the primary's exact colour.
        opaque = primary_only["alpha"] == 255
        assert (sample["fg"][opaque] == COLOURS[int(recipe["layers"][-1]["id"][3:])]).all()
    assert 3 <= second <= 17
