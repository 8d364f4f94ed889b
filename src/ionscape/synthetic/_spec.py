"""What a synthetic dataset is made of: its settings (:class:`SynthSpec`) and planted ions."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ionscape.chem.modifiers import validate_modifier
from ionscape.config import DEFAULT_ADDUCTS, instrument_from_analyzer
from ionscape.errors import ConfigError

PATTERN_KINDS = ("region", "gradient", "blob", "cells")
ISOTOPE_MODELS = ("engine", "isospec")
_PLANTED = re.compile(r"^([A-Za-z0-9.]+?)((?:[+-][A-Za-z0-9]+)+|\[M\][+-])$")


@dataclass(frozen=True)
class PlantedIon:
    """A molecule (``formula``) and the adduct it is ionised with, e.g. ``PlantedIon("C6H12O6", "+Na")``."""

    formula: str
    adduct: str

    @classmethod
    def parse(cls, text: str) -> PlantedIon:
        """Read ``FORMULA+ADDUCT`` (``C6H12O6+Na``, ``C5H9NO4-H``, ``C10H10N2[M]+``)."""
        match = _PLANTED.match(text.strip())
        if match is None:
            raise ConfigError(f"planted ion {text!r} must look like FORMULA+ADDUCT, e.g. C6H12O6+Na")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.formula}{self.adduct}"


@dataclass(frozen=True)
class SynthSpec:
    """Every setting a synthetic dataset depends on: the same spec gives byte-identical files.

    * Size: ``width`` × ``height`` pixels, all sampled; about ``peaks_per_spectrum`` centroids per
      spectrum in ``mz_range`` (noise fills up to it; more where the ions' own peaks exceed it).
    * Ions: the ``planted`` ones plus ``n_planted`` drawn from ``database`` with ``adducts``
      (default: the polarity's +H/+Na/+K or -H/+Cl); a share ``isobar_fraction`` of the draws has
      an isobar (another database ion within ``isobar_ppm``). ``matrix``: a MALDI matrix whose
      ions are in every spectrum (None: no matrix).
    * Isotope envelopes (``envelope_peaks`` most intense peaks): the engine's own centroids
      (``isotopes="engine"``) at the isotope sigma of ``resolving_power`` at ``at_mz`` on
      ``analyzer`` (or ``isocalc_sigma``), or IsoSpecPy's fine structure blurred at that
      resolving power and centroided again (``"isospec"``).
    * Space: each planted ion follows one of ``patterns``, inside a tissue section if ``tissue``,
      at ``abundance_range`` × ``detection_limit`` where its pattern is at full strength.
    * Noise: per-pixel and per-peak intensity factors (log-normal, sd ``pixel_noise`` and
      ``isotope_noise``), m/z jitter (sd ``mz_jitter_ppm`` per peak, half that per spectrum);
      peaks below ``detection_limit`` (counts) are not recorded.
    * ``continuous``: one m/z axis shared by all spectra (no m/z jitter then).
    """

    width: int = 64
    height: int = 64
    peaks_per_spectrum: int = 1000
    mz_range: tuple[float, float] = (100.0, 1000.0)
    polarity: str = "+"
    database: str | None = "core_metabolome"
    planted: tuple[PlantedIon, ...] = ()
    n_planted: int = 20
    adducts: tuple[str, ...] = ()
    isobar_fraction: float = 0.25
    isobar_ppm: float = 3.0
    isotopes: str = "engine"
    resolving_power: float = 140_000.0
    at_mz: float = 200.0
    analyzer: str = "Orbitrap"
    isocalc_sigma: float | None = None
    envelope_peaks: int = 6
    patterns: tuple[str, ...] = PATTERN_KINDS
    tissue: bool = True
    matrix: str | None = "DHB"
    abundance_range: tuple[float, float] = (20.0, 1000.0)
    detection_limit: float = 100.0
    pixel_noise: float = 0.25
    isotope_noise: float = 0.08
    mz_jitter_ppm: float = 1.0
    continuous: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        _check_positive(width=self.width, height=self.height, peaks_per_spectrum=self.peaks_per_spectrum)
        _check_positive(detection_limit=self.detection_limit, envelope_peaks=self.envelope_peaks)
        _check_positive(resolving_power=self.resolving_power, at_mz=self.at_mz)
        lo, hi = self.mz_range
        if not 0 < lo < hi:
            raise ConfigError(f"mz_range must be (low, high) with 0 < low < high, got {self.mz_range}")
        if self.polarity not in ("+", "-"):
            raise ConfigError(f"polarity must be '+' or '-', got {self.polarity!r}")
        if self.isotopes not in ISOTOPE_MODELS:
            raise ConfigError(f"isotopes must be one of {', '.join(ISOTOPE_MODELS)}, got {self.isotopes!r}")
        unknown = sorted(set(self.patterns) - set(PATTERN_KINDS))
        if unknown or not self.patterns:
            raise ConfigError(f"patterns must be some of {', '.join(PATTERN_KINDS)}, got {self.patterns}")
        low, high = self.abundance_range
        if not 0 < low <= high:
            raise ConfigError(f"abundance_range must be (low, high) with 0 < low <= high, got {low, high}")
        if self.n_planted < 0 or not 0 <= self.isobar_fraction <= 1 or self.isobar_ppm < 0:
            raise ConfigError("n_planted, isobar_fraction (0-1) and isobar_ppm must not be negative")
        if min(self.pixel_noise, self.isotope_noise, self.mz_jitter_ppm) < 0:
            raise ConfigError("pixel_noise, isotope_noise and mz_jitter_ppm must not be negative")
        if self.n_planted and self.database is None:
            raise ConfigError("drawing random planted ions (n_planted > 0) needs a database")
        for adduct in self.adducts_used:
            validate_modifier(adduct, "adduct")
        instrument_from_analyzer(self.analyzer)

    @property
    def charge(self) -> int:
        """+1 or -1."""
        return 1 if self.polarity == "+" else -1

    @property
    def adducts_used(self) -> tuple[str, ...]:
        """``adducts``, or the polarity's default adducts when none are given."""
        return self.adducts or DEFAULT_ADDUCTS[self.charge]

    @property
    def n_spectra(self) -> int:
        """Number of spectra (every pixel of the rectangle has one)."""
        return self.width * self.height

    def to_dict(self) -> dict:
        """The settings as JSON-compatible values (planted ions as ``FORMULA+ADDUCT`` strings)."""
        values = {name: list(v) if isinstance(v, tuple) else v for name, v in asdict(self).items()}
        values["planted"] = [str(ion) for ion in self.planted]
        return values


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ConfigError(f"{name} must be positive, got {value}")
