"""Spatial patterns that look like tissue, evaluated one image row at a time.

A :class:`SpatialModel` holds the parameters of every ion's pattern (a few numbers each), so
memory does not grow with the image: ``row(y)`` computes the (n_ions, width) values of row y.
Kinds:

* ``region``: anatomical regions (a warped, weighted Voronoi partition shared by all ions);
  each ion is present in some of them at its own level;
* ``gradient``: a smooth ramp in a random direction;
* ``blob``: one to three Gaussian hot spots;
* ``cells``: many small, sparse spots (single cells, granules).

Every pattern is multiplied by the tissue mask: a section with a wavy outline and a soft edge,
outside which there is only matrix and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionscape.synthetic._spec import PATTERN_KINDS

_N_REGIONS = (5, 10)
_REGION_PRESENCE = 0.4
_N_BLOBS = 3
_CELL_DENSITY = (0.004, 0.02)  # cells per pixel
_CELL_SD = (0.6, 1.4)  # pixels
_CELL_REACH = 4  # cells are drawn out to this many of their sds
_TISSUE_RADIUS = 0.46  # of the image size
_TISSUE_WAVES = 5
_TISSUE_EDGE_PX = 1.5


@dataclass(frozen=True)
class SpatialModel:
    """Parameters of the tissue mask and of each ion's pattern; see :func:`spatial_model`."""

    width: int
    height: int
    kinds: tuple[str, ...]
    tissue: np.ndarray | None  # (center x, center y, radius x, radius y, a_2..a_K, phase_2..phase_K)
    region_seeds: np.ndarray  # (R, 3): x, y, weight
    region_warp: np.ndarray  # (4,): amplitude x, amplitude y, phase x, phase y
    region_levels: np.ndarray  # (n_region_ions, R)
    gradients: np.ndarray  # (n_gradient_ions, 4): angle, centre x, centre y, exponent
    blobs: np.ndarray  # (n_blob_ions, _N_BLOBS, 5): x, y, sd x, sd y, weight
    cells: np.ndarray  # (n_cells, 5): ion slot, x, y, sd, amplitude; sorted by y

    @property
    def n_ions(self) -> int:
        return len(self.kinds)

    def row(self, y: int) -> np.ndarray:
        """(n_ions, width) pattern values in [0, 1] of image row ``y``, tissue mask applied."""
        x = np.arange(self.width, dtype=np.float64)
        out = np.zeros((self.n_ions, self.width))
        kinds = np.array(self.kinds)
        for kind, evaluate in (
            ("region", self._regions),
            ("gradient", self._gradients),
            ("blob", self._blobs),
            ("cells", self._cells),
        ):
            rows = np.flatnonzero(kinds == kind)
            if rows.size:
                out[rows] = evaluate(x, y)
        return np.minimum(out, 1.0) * self.tissue_row(y)

    def tissue_row(self, y: int) -> np.ndarray:
        """(width,) tissue fraction in [0, 1] of each pixel of row ``y`` (all ones without tissue)."""
        if self.tissue is None:
            return np.ones(self.width)
        cx, cy, rx, ry = self.tissue[:4]
        amplitudes, phases = np.split(self.tissue[4:], 2)
        dx = (np.arange(self.width) - cx) / rx
        dy = (y - cy) / ry
        angle = np.arctan2(dy, dx)
        harmonics = np.arange(2, 2 + len(amplitudes))
        outline = 1 + (amplitudes * np.cos(harmonics * angle[:, None] + phases)).sum(axis=1)
        inside_by = (outline - np.hypot(dx, dy)) * min(rx, ry) / _TISSUE_EDGE_PX
        return np.clip(inside_by + 0.5, 0.0, 1.0)

    def _regions(self, x: np.ndarray, y: int) -> np.ndarray:
        ax, ay, px, py = self.region_warp
        wx = x + ax * np.sin(2 * np.pi * y / self.height + px)
        wy = y + ay * np.sin(2 * np.pi * x / self.width + py)
        sx, sy, weight = self.region_seeds.T
        distance = (wx - sx[:, None]) ** 2 + (wy - sy[:, None]) ** 2 - weight[:, None]
        return self.region_levels[:, np.argmin(distance, axis=0)]

    def _gradients(self, x: np.ndarray, y: int) -> np.ndarray:
        angle, cx, cy, exponent = (column[:, None] for column in self.gradients.T)
        half_diagonal = 0.5 * np.hypot(self.width, self.height)
        along = ((x - cx) * np.cos(angle) + (y - cy) * np.sin(angle)) / half_diagonal
        return np.clip(0.5 * (along + 1), 0.0, 1.0) ** exponent

    def _blobs(self, x: np.ndarray, y: int) -> np.ndarray:
        bx, by, sx, sy, weight = (p[:, :, None] for p in np.moveaxis(self.blobs, 2, 0))
        spots = weight * np.exp(-0.5 * (((x - bx) / sx) ** 2 + ((y - by) / sy) ** 2))
        return spots.sum(axis=1)

    def _cells(self, x: np.ndarray, y: int) -> np.ndarray:
        n_cell_ions = self.kinds.count("cells")
        reach = _CELL_REACH * _CELL_SD[1]
        lo, hi = np.searchsorted(self.cells[:, 2], [y - reach, y + reach])
        slot, cx, cy, sd, amplitude = self.cells[lo:hi].T
        offsets = np.arange(-int(reach), int(reach) + 1)
        column = np.rint(cx)[:, None] + offsets
        value = amplitude[:, None] * np.exp(
            -0.5 * (((column - cx[:, None]) ** 2 + (y - cy[:, None]) ** 2) / sd[:, None] ** 2)
        )
        inside = (column >= 0) & (column < self.width)
        flat = (slot[:, None] * self.width + column)[inside].astype(np.int64)
        summed = np.bincount(flat, weights=value[inside], minlength=n_cell_ions * self.width)
        return summed.reshape(n_cell_ions, self.width)


def spatial_model(
    n_ions: int, width: int, height: int, kinds: tuple[str, ...], tissue: bool, rng: np.random.Generator
) -> SpatialModel:
    """Draw the patterns of ``n_ions`` ions (kinds cycled through ``kinds`` in a random order)."""
    order = rng.permutation(len(kinds))
    ion_kinds = tuple(kinds[order[i % len(kinds)]] for i in range(n_ions))
    size = min(width, height)
    n_of = {kind: ion_kinds.count(kind) for kind in PATTERN_KINDS}

    n_regions = int(rng.integers(*_N_REGIONS, endpoint=True))
    seeds = np.column_stack(
        [
            rng.uniform(0, width, n_regions),
            rng.uniform(0, height, n_regions),
            rng.uniform(0, (0.15 * size) ** 2, n_regions),
        ]
    )
    warp = np.concatenate([rng.uniform(0, 0.08, 2) * [width, height], rng.uniform(0, 2 * np.pi, 2)])
    levels = np.where(
        rng.random((n_of["region"], n_regions)) < _REGION_PRESENCE,
        rng.uniform(0.3, 1.0, (n_of["region"], n_regions)),
        0.0,
    )
    if levels.size:
        levels[np.arange(len(levels)), rng.integers(0, n_regions, len(levels))] = 1.0

    gradients = np.column_stack(
        [
            rng.uniform(0, 2 * np.pi, n_of["gradient"]),
            rng.uniform(0.3, 0.7, n_of["gradient"]) * width,
            rng.uniform(0.3, 0.7, n_of["gradient"]) * height,
            rng.uniform(0.5, 2.0, n_of["gradient"]),
        ]
    )
    shape = (n_of["blob"], _N_BLOBS)
    blobs = np.stack(
        [
            rng.uniform(0.15, 0.85, shape) * width,
            rng.uniform(0.15, 0.85, shape) * height,
            np.maximum(rng.uniform(0.04, 0.2, shape) * size, 1.5),
            np.maximum(rng.uniform(0.04, 0.2, shape) * size, 1.5),
            np.where(rng.random(shape) < 0.5, rng.uniform(0.4, 1.0, shape), 0.0),
        ],
        axis=2,
    )
    if blobs.size:
        blobs[:, 0, 4] = 1.0
    return SpatialModel(
        width=width,
        height=height,
        kinds=ion_kinds,
        tissue=_tissue(width, height, rng) if tissue else None,
        region_seeds=seeds,
        region_warp=warp,
        region_levels=levels,
        gradients=gradients,
        blobs=blobs,
        cells=_cells(n_of["cells"], width, height, rng),
    )


def _tissue(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    centre = rng.uniform(0.45, 0.55, 2) * [width, height]
    radii = _TISSUE_RADIUS * np.array([width, height]) * rng.uniform(0.95, 1.05, 2)
    amplitudes = rng.uniform(0, 0.06, _TISSUE_WAVES - 1)
    phases = rng.uniform(0, 2 * np.pi, _TISSUE_WAVES - 1)
    return np.concatenate([centre, radii, amplitudes, phases])


def _cells(n_cell_ions: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    counts = np.maximum(3, np.rint(rng.uniform(*_CELL_DENSITY, n_cell_ions) * width * height)).astype(
        np.int64
    )
    n = int(counts.sum())
    cells = np.column_stack(
        [
            np.repeat(np.arange(n_cell_ions), counts),
            rng.uniform(0, width, n),
            rng.uniform(0, height, n),
            rng.uniform(*_CELL_SD, n),
            rng.uniform(0.3, 1.0, n),
        ]
    )
    return cells[np.argsort(cells[:, 2], kind="stable")]
