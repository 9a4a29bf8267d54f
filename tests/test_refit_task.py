"""The refit task's report figures, against values worked out by hand."""

import numpy as np
import pytest

from datagen.refit.objects import ObjectRef, read_object
from datagen.refit.task import composite_residual


def test_composite_residual_by_hand():
    # 1x3 image: alpha 0 (left out), 0.5 and 1
    alpha = np.array([[0.0, 0.5, 1.0]])
    image = np.array([[[0.9, 0.9, 0.9], [0.5, 0.4, 0.3], [0.2, 0.2, 0.2]]])
    foreground = np.array([[[0.0, 0.0, 0.0], [0.6, 0.6, 0.6], [0.2, 0.1, 0.3]]])
    background = np.array([[[0.0, 0.0, 0.0], [0.2, 0.2, 0.2], [0.7, 0.7, 0.7]]])
    # alpha 0.5: composite 0.4 everywhere, errors 0.1, 0.0, 0.1; alpha 1: F itself, errors 0, 0.1, 0.1
    expected = (0.1 + 0.0 + 0.1 + 0.0 + 0.1 + 0.1) / 6 * 255
    assert abs(composite_residual(image, alpha, foreground, background) - expected) < 1e-9
    assert composite_residual(image, np.zeros((1, 3)), foreground, background) == 0.0


def test_an_object_with_neither_a_sample_nor_a_file_is_a_one_line_error():
    with pytest.raises(ValueError, match="object lonely: neither a dataset sample nor a foreground file"):
        read_object(ObjectRef("lonely"))
