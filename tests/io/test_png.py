import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from ionscape.io.png import ion_image_png, render_ion_image, write_png

IMAGE = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 100.0]])


def colours(levels, cmap="gray"):
    return matplotlib.colormaps[cmap](np.asarray(levels, dtype=float), bytes=True)


def test_hotspot_clipped_at_percentile_of_nonzero_values():
    # non-zero values 1, 2, 3, 4, 100: the 80th percentile sits at rank 0.8·4 = 3.2 → 4 + 0.2·96 = 23.2
    rgba = render_ion_image(IMAGE, cmap="gray", hotspot_percentile=80)
    expected_levels = np.array([[0, 1, 2], [3, 4, 23.2]]) / 23.2
    np.testing.assert_array_equal(rgba, colours(expected_levels))
    assert rgba.shape == (2, 3, 4) and rgba.dtype == np.uint8


def test_without_clipping_the_hot_spot_takes_the_top_colour():
    rgba = render_ion_image(IMAGE, cmap="gray", hotspot_percentile=None)
    np.testing.assert_array_equal(rgba, colours(IMAGE / 100))
    assert tuple(rgba[1, 2]) == (255, 255, 255, 255)
    assert tuple(rgba[0, 0]) == (0, 0, 0, 255)


def test_mask_makes_pixels_transparent_and_excludes_them_from_the_percentile():
    mask = np.array([[True, True, True], [True, True, False]])
    # in-mask non-zero values 1, 2, 3, 4: the 50th percentile is 2.5
    rgba = render_ion_image(IMAGE, mask, cmap="gray", hotspot_percentile=50)
    np.testing.assert_array_equal(rgba[..., 3], [[255, 255, 255], [255, 255, 0]])
    expected_levels = np.minimum(IMAGE, 2.5) / 2.5
    np.testing.assert_array_equal(rgba[mask], colours(expected_levels)[mask])


def test_nan_pixels_are_transparent():
    image = np.array([[np.nan, 1.0], [2.0, 4.0]])
    rgba = render_ion_image(image, cmap="gray", hotspot_percentile=None)
    np.testing.assert_array_equal(rgba[..., 3], [[0, 255], [255, 255]])
    np.testing.assert_array_equal(rgba[1, 1], (255, 255, 255, 255))


@pytest.mark.parametrize("value", [0.0, 7.5])
def test_constant_image_is_the_bottom_colour(value):
    rgba = render_ion_image(np.full((2, 3), value), cmap="viridis")
    bottom = colours(0.0, "viridis")
    assert (rgba == bottom).all()


def test_fully_masked_image_is_transparent():
    rgba = render_ion_image(IMAGE, np.zeros((2, 3), dtype=bool))
    assert (rgba[..., 3] == 0).all()


def test_log_scale_uses_log1p():
    image = np.array([[0.0, np.e - 1, np.e**2 - 1]])
    rgba = render_ion_image(image, cmap="gray", hotspot_percentile=None, scale="log")
    np.testing.assert_array_equal(rgba, colours([[0.0, 0.5, 1.0]]))


def test_png_round_trip():
    data = ion_image_png(IMAGE, np.array([[True, True, True], [True, True, False]]), cmap="magma")
    with Image.open(io.BytesIO(data)) as png:
        assert png.format == "PNG" and png.mode == "RGBA" and png.size == (3, 2)
        pixels = np.asarray(png)
    np.testing.assert_array_equal(
        pixels, render_ion_image(IMAGE, np.array([[1, 1, 1], [1, 1, 0]]), cmap="magma")
    )


def test_write_png_to_path(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 1] = (10, 20, 30, 40)
    write_png(rgba, tmp_path / "ion.png")
    with Image.open(tmp_path / "ion.png") as png:
        np.testing.assert_array_equal(np.asarray(png), rgba)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "sqrt"}, "scale"),
        ({"cmap": "no-such-map"}, "colormap"),
        ({"hotspot_percentile": 101}, "hotspot_percentile"),
        ({"mask": np.ones((3, 2), dtype=bool)}, "mask shape"),
    ],
)
def test_invalid_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_ion_image(IMAGE, **kwargs)


def test_log_scale_rejects_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        render_ion_image(np.array([[-2.0, 1.0]]), scale="log", hotspot_percentile=None)


def test_write_png_rejects_non_rgba():
    with pytest.raises(ValueError, match="uint8"):
        write_png(np.zeros((2, 3, 3), dtype=np.uint8), io.BytesIO())
