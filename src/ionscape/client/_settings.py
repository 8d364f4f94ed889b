"""What ``Client.submit_dataset`` sends: sample metadata and annotation settings in the API's shape.

Both accept the service's own field names, or METASPACE's shapes, so that submission scripts
port over: METASPACE metadata JSON (``MS_Analysis``, ``Sample_Information``, ...) and a ds_config
(``isotope_generation``, ``fdr``, ``image_generation``) or an ``ionscape.AnnotationConfig``.
"""

from __future__ import annotations

import json
from typing import Any

from ionscape.config import AnnotationConfig


def service_metadata(metadata: dict[str, Any] | str | None) -> dict[str, Any]:
    """``DatasetMetadata`` fields from the service's shape or from METASPACE metadata (dict or JSON)."""
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    metadata = dict(metadata or {})
    if "MS_Analysis" not in metadata:
        return metadata
    ms = metadata.get("MS_Analysis") or {}
    sample = metadata.get("Sample_Information") or {}
    preparation = metadata.get("Sample_Preparation") or {}
    power = ms.get("Detector_Resolving_Power") or {}
    out = {
        "organism": sample.get("Organism", ""),
        "organism_part": sample.get("Organism_Part", ""),
        "condition": sample.get("Condition", ""),
        "polarity": str(ms.get("Polarity", "positive")).lower(),
        "ionisation_source": ms.get("Ionisation_Source", ""),
        "analyzer": ms.get("Analyzer", ""),
        "matrix": preparation.get("MALDI_Matrix", ""),
        "resolving_power": power.get("Resolving_Power"),
        "resolving_power_mz": power.get("mz"),
    }
    return {name: value for name, value in out.items() if value is not None}


def annotation_settings(
    config: AnnotationConfig | dict[str, Any] | None, databases: list[str] | None
) -> tuple[dict[str, Any], str | None]:
    """``AnnotationSettings`` fields, and the polarity the settings imply (None: the metadata decides)."""
    if isinstance(config, dict) and "isotope_generation" in config:
        config = AnnotationConfig.from_ds_config(config)
    polarity = None
    if isinstance(config, AnnotationConfig):
        iso = config.isotope_generation
        settings: dict[str, Any] = {
            "adducts": list(iso.adducts),
            "neutral_losses": list(iso.neutral_losses),
            "chem_mods": list(iso.chem_mods),
            "n_peaks": iso.n_peaks,
            "isocalc_sigma": iso.isocalc_sigma,
            "instrument": iso.instrument,
            "ppm": config.image_generation.ppm,
            "decoy_sample_size": config.fdr.decoy_sample_size,
        }
        polarity = "positive" if iso.charge > 0 else "negative"
    else:
        settings = dict(config or {})
    if databases is not None:
        settings["databases"] = [str(db) for db in databases]
    return settings, polarity
