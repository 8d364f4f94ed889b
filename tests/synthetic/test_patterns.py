"""Spatial patterns: each kind has its own shape, values stay in [0, 1], the tissue has an edge."""

from __future__ import annotations

import numpy as np
import pytest

from ionscape.synthetic import PATTERN_KINDS
from ionscape.synthetic._patterns import spatial_model

WIDTH, HEIGHT = 48, 40


def image(model) -> np.ndarray:
    """(n_ions, height, width) from row-by-row evaluation."""
    return np.stack([model.row(y) for y in range(HEIGHT)], axis=1)


def model_of(kind: str, n: int = 3, seed: int = 0, tissue: bool = False):
    return spatial_model(n, WIDTH, HEIGHT, (kind,), tissue, np.random.default_rng(seed))


@pytest.mark.parametrize("kind", PATTERN_KINDS)
def test_values_lie_in_unit_interval_and_are_not_flat(kind):
    values = image(model_of(kind))
    assert values.min() >= 0.0 and values.max() <= 1.0
    assert all(v.max() > 0.5 and v.std() > 0.05 for v in values)


def test_kinds_are_cycled_over_ions():
    model = spatial_model(8, WIDTH, HEIGHT, PATTERN_KINDS, False, np.random.default_rng(1))
    assert sorted(model.kinds) == sorted(PATTERN_KINDS * 2)


def test_gradient_grows_monotonically_along_its_direction():
    model = model_of("gradient", n=1)
    angle = model.gradients[0, 0]
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    along = (xx * np.cos(angle) + yy * np.sin(angle)).ravel()
    values = image(model)[0].ravel()[np.argsort(along)]
    assert np.all(np.diff(values) >= -1e-12)


def test_regions_are_piecewise_constant_and_shared_between_ions():
    model = model_of("region", n=4)
    values = image(model)
    n_regions = len(model.region_seeds)
    assert all(len(np.unique(v)) <= n_regions for v in values)
    # the same partition: pixels in one region of ion 0 (one level) agree in every other ion
    labels = np.unique(values.reshape(4, -1).T, axis=0, return_inverse=True)[1]
    assert labels.max() + 1 <= n_regions
    assert all(np.isclose(v, 1.0).any() for v in values)


def test_cells_are_small_sparse_spots():
    values = image(model_of("cells", n=2))
    for v in values:
        lit = v > 0.05
        assert 0.005 < lit.mean() < 0.4
        interior = v[1:-1, 1:-1]
        neighbours = np.stack([v[:-2, 1:-1], v[2:, 1:-1], v[1:-1, :-2], v[1:-1, 2:]])
        assert ((interior > neighbours.max(axis=0)) & (interior > 0.2)).sum() >= 3


def test_blob_peaks_at_its_main_centre():
    model = model_of("blob", n=1, seed=3)
    cx, cy = model.blobs[0, 0, :2]
    values = image(model)[0]
    assert values[round(cy), round(cx)] > 0.9


def test_tissue_mask_is_one_inside_zero_at_corners_and_applied_to_patterns():
    model = spatial_model(2, WIDTH, HEIGHT, ("blob",), True, np.random.default_rng(4))
    mask = np.stack([model.tissue_row(y) for y in range(HEIGHT)])
    assert mask[HEIGHT // 2, WIDTH // 2] == 1.0
    assert mask[0, 0] == mask[-1, -1] == mask[0, -1] == mask[-1, 0] == 0.0
    assert 0.5 < mask.mean() < 0.8
    assert np.all(image(model)[:, mask == 0] == 0)


def test_without_tissue_the_mask_is_all_ones():
    model = model_of("blob")
    assert np.all(model.tissue_row(0) == 1.0)
