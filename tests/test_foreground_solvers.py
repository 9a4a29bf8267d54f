"""The solver table: every registered solver honours the contract; options are checked, not dropped."""

import json
import subprocess
import sys

import numpy as np
import pytest

from datagen.demo.objects import make_object
from datagen.foreground.solvers import SOLVERS, methods_help, resolve_options, solver


@pytest.mark.parametrize("name", list(SOLVERS))
def test_contract_shapes_dtypes_and_info(name):
    obj = make_object(5, (40, 30), kind="fur")
    image, alpha = obj.fg / 255.0, obj.alpha / 255.0
    foreground, background, info = solver(name).function()(image, alpha)
    for field in (foreground, background):
        assert field.shape == (40, 30, 3) and field.dtype == np.float64
        assert np.isfinite(field).all() and field.min() >= 0.0 and field.max() <= 1.0
    assert isinstance(info, dict) and json.loads(json.dumps(info)) == info  # fit for a recipe
    again = solver(name).function()(image, alpha)
    assert again[2] == info and np.array_equal(again[0], foreground)  # deterministic, recipe included


@pytest.mark.parametrize("name", list(SOLVERS))
def test_flat_image_gives_its_colour_for_any_alpha(name):
    """Closed form: with I constant, F = B = I meets the composite term and has no gradient, so
    it is the minimiser of every solver's energy whatever alpha is."""
    colour = np.array([0.2, 0.55, 0.9])
    image = np.broadcast_to(colour, (33, 47, 3)).copy()
    alpha = np.random.default_rng(1).random((33, 47))
    foreground, background, _ = solver(name).function()(image, alpha)
    np.testing.assert_allclose(foreground, image, atol=1e-6)
    np.testing.assert_allclose(background, image, atol=1e-6)


def test_options_are_read_off_the_signatures():
    levin, multilevel = solver("levin").options(), solver("multilevel").options()
    assert levin["margin"] == 0.0 and levin["neighbours"] == 4 and "threads" not in levin
    assert "margin" not in multilevel and multilevel["n_big_iterations"] == 2
    assert resolve_options("levin", {"margin": 0.02}) == {**levin, "margin": 0.02}
    assert resolve_options("multilevel", {}) == multilevel


def test_ignored_option_and_unknown_method_are_errors():
    with pytest.raises(ValueError, match="'multilevel' does not take margin"):
        resolve_options("multilevel", {"margin": 0.02})
    with pytest.raises(ValueError, match="unknown method 'cf'; choose from levin, multilevel"):
        resolve_options("cf", {})


def test_table_and_cli_layer_import_no_solver():
    """`datagen --help` builds the --method help from the table: that must not load numba."""
    code = ("import sys, datagen.foreground.solvers, datagen.refit.cli; "
            "print(sorted(m for m in ('numba', 'h5py', 'cv2') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert all(f"{name} (" in methods_help() for name in SOLVERS)
