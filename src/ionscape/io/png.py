"""Ion images as coloured PNGs for people to look at.

These PNGs are for display only: hot spots are clipped and the values are normalised, so absolute
intensities cannot be read back. METASPACE's 16-bit greyscale storage PNGs (ALGORITHM.md §8.3)
are a different thing.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any

import numpy as np

SCALES = ("linear", "log")


def render_ion_image(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    cmap: str = "viridis",
    hotspot_percentile: float | None = 99.0,
    scale: str = "linear",
) -> np.ndarray:
    """Colour an ion image.

    Parameters
    ----------
    image : (h, w) float array of intensities (>= 0 for the log scale). NaN pixels are transparent.
    mask : (h, w) bool sample-area mask; pixels outside it are transparent. None: every pixel.
    cmap : name of a matplotlib colormap.
    hotspot_percentile : values above this percentile (0-100, linear interpolation) of the
        non-zero in-mask values are clipped to it. None: no clipping.
    scale : 'linear', or 'log' for log(1 + value) after clipping.

    Returns
    -------
    (h, w, 4) uint8 RGBA array. Colours span the colormap from the smallest to the largest
    visible value; a constant or empty image gets the bottom colour everywhere.
    """
    values = np.array(image, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {values.shape}")
    visible = np.isfinite(values)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != values.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {values.shape}")
        visible &= mask
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if hotspot_percentile is not None and not 0 <= hotspot_percentile <= 100:
        raise ValueError(f"hotspot_percentile must lie in [0, 100], got {hotspot_percentile}")

    shown = values[visible]
    if hotspot_percentile is not None:
        nonzero = shown[shown != 0]
        if nonzero.size:
            shown = np.minimum(shown, np.percentile(nonzero, hotspot_percentile))
    if scale == "log":
        if (shown < 0).any():
            raise ValueError("the log scale needs non-negative intensities")
        shown = np.log1p(shown)

    levels = np.zeros(values.shape)
    if shown.size:
        low, high = shown.min(), shown.max()
        if high > low:
            levels[visible] = (shown - low) / (high - low)
    rgba = _colormap(cmap)(levels, bytes=True)
    rgba[..., 3] = np.where(visible, rgba[..., 3], 0)
    return rgba


def write_png(rgba: np.ndarray, path_or_file: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write an (h, w, 4) uint8 RGBA array as an 8-bit RGBA PNG (Pillow) to a path or binary file."""
    from PIL import Image

    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (h, w, 4) uint8 array, got {rgba.dtype} {rgba.shape}")
    Image.fromarray(rgba).save(path_or_file, format="PNG")


def ion_image_png(image: np.ndarray, mask: np.ndarray | None = None, **render_options: Any) -> bytes:
    """PNG file bytes of :func:`render_ion_image` (same keyword options)."""
    buffer = io.BytesIO()
    write_png(render_ion_image(image, mask, **render_options), buffer)
    return buffer.getvalue()


def _colormap(name: str) -> Any:
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError as exc:
        raise ValueError(f"unknown matplotlib colormap {name!r}") from exc
