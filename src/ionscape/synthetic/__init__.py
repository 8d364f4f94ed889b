"""Synthetic imaging-MS datasets whose right answers are known.

``synthesize(path, SynthSpec(...))`` writes an imzML + ibd pair of any size (streamed row by row)
with planted molecules from a database, MALDI matrix ions, recurring background peaks, random
noise peaks, realistic spatial patterns and intensity/m/z noise, plus its ground truth
(``X.truth.csv`` / ``.json`` / ``.npy``, read back with ``load_truth``). The ``ionscape synth``
command does the same from the command line.

Importing this package is light: the generator (numpy, pandas, the engine) loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "ISOTOPE_MODELS",
    "PATTERN_KINDS",
    "GroundTruth",
    "PlantedIon",
    "SynthSpec",
    "load_truth",
    "synthesize",
    "truth_paths",
    "write_planted_dataset",
]

_LAZY = {
    "ISOTOPE_MODELS": "_spec",
    "PATTERN_KINDS": "_spec",
    "PlantedIon": "_spec",
    "SynthSpec": "_spec",
    "GroundTruth": "_truth",
    "load_truth": "_truth",
    "truth_paths": "_truth",
    "synthesize": "_generate",
    "write_planted_dataset": "_generate",
}

if TYPE_CHECKING:
    from ionscape.synthetic._generate import synthesize, write_planted_dataset
    from ionscape.synthetic._spec import ISOTOPE_MODELS, PATTERN_KINDS, PlantedIon, SynthSpec
    from ionscape.synthetic._truth import GroundTruth, load_truth, truth_paths


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"ionscape.synthetic.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ionscape.synthetic' has no attribute {name!r}")
