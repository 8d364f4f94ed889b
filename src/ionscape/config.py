"""Annotation settings: one typed object in the JSON shape of METASPACE's ds_config.

Defaults are METASPACE's (ALGORITHM.md §1.3). ``AnnotationConfig.from_ds_config`` reads the
``isotope_generation`` / ``fdr`` / ``image_generation`` sections of a METASPACE ds_config;
``to_ds_config`` writes them back.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ionscape.errors import ConfigError

SIGMA_TO_FWHM = 2.3548200450309493
DEFAULT_ADDUCTS = {1: ("+H", "+Na", "+K"), -1: ("-H", "+Cl")}
INSTRUMENTS = ("TOF", "Orbitrap", "FTICR")
# (upper bound of resolving power at m/z 200, isocalc_sigma), ALGORITHM.md §1.4
_SIGMA_BUCKETS = (
    (85_000, 0.002476),
    (120_000, 0.001733),
    (195_000, 0.001238),
    (265_000, 0.000693),
    (390_000, 0.000619),
    (625_000, 0.000347),
    (875_000, 0.000231),
    (math.inf, 0.000173),
)
FORMULA_PARSING_MODES = ("metaspace", "strict")


def instrument_from_analyzer(analyzer: str) -> str:
    """Map a free-text analyzer name (``MS_Analysis.Analyzer``) to TOF, Orbitrap or FTICR."""
    name = analyzer.lower()
    if any(s in name for s in ("orbitrap", "exactive", "exploris", "hf-x", "uhmr")):
        return "Orbitrap"
    if any(s in name for s in ("fticr", "ft-icr", "ftms", "ft-ms")):
        return "FTICR"
    if any(s in name for s in ("tof", "mrt", "synapt", "xevo")):
        return "TOF"
    return "Orbitrap"


def sigma_from_resolving_power(resolving_power: float, at_mz: float, instrument: str) -> float:
    """isocalc_sigma for a resolving power ``resolving_power`` reported at m/z ``at_mz``.

    The power is first converted to m/z 200 according to how it scales on ``instrument``,
    then bucketed as METASPACE does.
    """
    if resolving_power <= 0 or at_mz <= 0:
        raise ConfigError(f"resolving power and its m/z must be positive, got {resolving_power} at {at_mz}")
    instrument = _check_instrument(instrument)
    if instrument == "FTICR":
        rp200 = resolving_power * at_mz / 200
    elif instrument == "Orbitrap":
        rp200 = resolving_power * math.sqrt(at_mz / 200)
    else:
        rp200 = resolving_power
    return next(round(sigma, 6) for limit, sigma in _SIGMA_BUCKETS if rp200 < limit)


def _check_instrument(instrument: str) -> str:
    for name in INSTRUMENTS:
        if instrument.lower() == name.lower():
            return name
    raise ConfigError(f"unknown instrument {instrument!r}: use one of {', '.join(INSTRUMENTS)}")


@dataclass(frozen=True)
class IsotopeGeneration:
    """How theoretical isotope patterns are generated (ds_config ``isotope_generation``)."""

    adducts: tuple[str, ...] = DEFAULT_ADDUCTS[1]
    charge: int = 1
    isocalc_sigma: float = 0.001238
    instrument: str = "TOF"
    n_peaks: int = 4
    neutral_losses: tuple[str, ...] = ()
    chem_mods: tuple[str, ...] = ()


@dataclass(frozen=True)
class FDRSettings:
    """Target-decoy settings (ds_config ``fdr``)."""

    decoy_sample_size: int = 20


@dataclass(frozen=True)
class ImageGeneration:
    """Ion-image and metric settings (ds_config ``image_generation``)."""

    ppm: float = 3.0
    n_levels: int = 30
    min_px: int = 1
    compute_unused_metrics: bool = False


@dataclass(frozen=True)
class AnnotationConfig:
    """All settings of one annotation run, with METASPACE's defaults.

    ``formula_parsing`` is ionscape's own switch: ``"metaspace"`` (default) reproduces
    METASPACE's formula tokeniser, where a repeated element overwrites the earlier count;
    ``"strict"`` sums repeated elements and expands parentheses and multipliers.
    """

    isotope_generation: IsotopeGeneration = field(default_factory=IsotopeGeneration)
    fdr: FDRSettings = field(default_factory=FDRSettings)
    image_generation: ImageGeneration = field(default_factory=ImageGeneration)
    analysis_version: int = 1
    formula_parsing: str = "metaspace"

    def __post_init__(self) -> None:
        iso, img = self.isotope_generation, self.image_generation
        if iso.charge not in (1, -1):
            raise ConfigError(f"charge must be +1 or -1, got {iso.charge}")
        if iso.isocalc_sigma <= 0:
            raise ConfigError(f"isocalc_sigma must be positive, got {iso.isocalc_sigma}")
        object.__setattr__(
            self, "isotope_generation", replace(iso, instrument=_check_instrument(iso.instrument))
        )
        if not 1 <= iso.n_peaks <= 10:
            raise ConfigError(f"n_peaks must be between 1 and 10, got {iso.n_peaks}")
        if not iso.adducts:
            raise ConfigError("at least one adduct is needed")
        if self.fdr.decoy_sample_size < 1:
            raise ConfigError(f"decoy_sample_size must be at least 1, got {self.fdr.decoy_sample_size}")
        if not 0 < img.ppm <= 1000:
            raise ConfigError(f"ppm must be in (0, 1000], got {img.ppm}")
        if not 1 <= img.n_levels <= 32:
            raise ConfigError(f"n_levels must be between 1 and 32, got {img.n_levels}")
        if img.min_px < 1:
            raise ConfigError(f"min_px must be at least 1, got {img.min_px}")
        if self.analysis_version != 1:
            raise ConfigError(
                f"analysis_version {self.analysis_version} is not supported: ionscape implements "
                "analysis_version 1 (MSM with quantised FDR)"
            )
        if self.formula_parsing not in FORMULA_PARSING_MODES:
            raise ConfigError(
                f"formula_parsing must be one of {FORMULA_PARSING_MODES}, got {self.formula_parsing!r}"
            )
        from ionscape.chem.modifiers import validate_modifier

        for kind, values in (
            ("adduct", iso.adducts),
            ("chem_mod", iso.chem_mods),
            ("neutral_loss", iso.neutral_losses),
        ):
            for value in values:
                validate_modifier(value, kind)

    @property
    def polarity(self) -> str:
        """``"+"`` or ``"-"``."""
        return "+" if self.isotope_generation.charge > 0 else "-"

    @classmethod
    def for_polarity(
        cls,
        polarity: str = "+",
        *,
        resolving_power: float | None = None,
        at_mz: float = 200.0,
        analyzer: str = "TOF",
        **isotope_overrides: Any,
    ) -> AnnotationConfig:
        """Defaults for a polarity (``"+"``/``"-"``), optionally from the instrument's resolving power."""
        if polarity not in ("+", "-", "positive", "negative", "Positive", "Negative"):
            raise ConfigError(f"polarity must be '+' or '-', got {polarity!r}")
        charge = 1 if polarity.lower() in ("+", "positive") else -1
        instrument = instrument_from_analyzer(analyzer)
        iso = dict(adducts=DEFAULT_ADDUCTS[charge], charge=charge, instrument=instrument)
        if resolving_power is not None:
            iso["isocalc_sigma"] = sigma_from_resolving_power(resolving_power, at_mz, instrument)
        iso.update(isotope_overrides)
        return cls(isotope_generation=IsotopeGeneration(**_tuples(iso)))

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> AnnotationConfig:
        """Defaults derived from METASPACE dataset metadata (``MS_Analysis`` section)."""
        ms = metadata.get("MS_Analysis", {})
        rp = ms.get("Detector_Resolving_Power", {})
        return cls.for_polarity(
            ms.get("Polarity", "Positive"),
            resolving_power=rp.get("Resolving_Power"),
            at_mz=rp.get("mz", 200.0),
            analyzer=ms.get("Analyzer", "TOF"),
        )

    @classmethod
    def from_ds_config(cls, ds_config: dict[str, Any]) -> AnnotationConfig:
        """Read a METASPACE ds_config dict; missing fields take METASPACE's defaults."""
        iso = dict(ds_config.get("isotope_generation") or {})
        charge = int(iso.get("charge", 1))
        iso.setdefault("adducts", DEFAULT_ADDUCTS[1 if charge > 0 else -1])
        known = IsotopeGeneration.__dataclass_fields__
        unknown = set(iso) - set(known)
        if unknown:
            raise ConfigError(f"unknown isotope_generation fields: {', '.join(sorted(unknown))}")
        fdr = {k: v for k, v in (ds_config.get("fdr") or {}).items() if k in FDRSettings.__dataclass_fields__}
        if (ds_config.get("fdr") or {}).get("scoring_model_id") is not None:
            raise ConfigError("scoring models (fdr.scoring_model_id) are not supported; use the MSM score")
        img = dict(ds_config.get("image_generation") or {})
        unknown = set(img) - set(ImageGeneration.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown image_generation fields: {', '.join(sorted(unknown))}")
        try:
            return cls(
                isotope_generation=IsotopeGeneration(**_tuples(iso)),
                fdr=FDRSettings(**fdr),
                image_generation=ImageGeneration(**img),
                analysis_version=int(ds_config.get("analysis_version", 1)),
                formula_parsing=ds_config.get("formula_parsing", "metaspace"),
            )
        except TypeError as exc:
            raise ConfigError(f"invalid ds_config: {exc}") from exc

    @classmethod
    def from_json(cls, path: str | Path) -> AnnotationConfig:
        """Read a ds_config JSON file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_ds_config(data)

    def to_ds_config(self) -> dict[str, Any]:
        """The settings as a METASPACE ds_config dict (JSON-serialisable)."""
        out = {
            "analysis_version": self.analysis_version,
            "isotope_generation": _lists(asdict(self.isotope_generation)),
            "fdr": asdict(self.fdr),
            "image_generation": asdict(self.image_generation),
        }
        if self.formula_parsing != "metaspace":
            out["formula_parsing"] = self.formula_parsing
        return out

    def with_overrides(self, **isotope_generation: Any) -> AnnotationConfig:
        """A copy with some ``isotope_generation`` fields changed."""
        return replace(
            self, isotope_generation=replace(self.isotope_generation, **_tuples(isotope_generation))
        )


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _lists(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
