"""Submission metadata and settings: the service's fields, METASPACE metadata, AnnotationConfig."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import ionscape
from ionscape.client import ValidationError
from ionscape.client._settings import annotation_settings, service_metadata
from ionscape.client._tables import metaspace_results
from ionscape.config import AnnotationConfig


def test_metaspace_metadata_is_translated():
    meta = json.loads((ionscape.example_dataset().parent / "meta.json").read_text())
    assert service_metadata(json.dumps(meta)) == {
        "organism": "Homo_sapiens_(Human)",
        "organism_part": "Colon",
        "condition": "Imortalised_Cell_Line",
        "polarity": "positive",
        "ionisation_source": "MALDI",
        "analyzer": "FTICR",
        "matrix": "2,5-dihydroxybenzoic_acid_(DHB)",
        "resolving_power": 80000,
        "resolving_power_mz": 700,
    }
    assert service_metadata({"polarity": "negative", "organism": "Mouse"}) == {
        "polarity": "negative",
        "organism": "Mouse",
    }
    assert service_metadata(None) == {}


def test_annotation_config_becomes_service_settings():
    config = AnnotationConfig.for_polarity("-", adducts=("-H",), neutral_losses=("-H2O",), n_peaks=3)
    settings, polarity = annotation_settings(config, ["core_metabolome", "abc123"])
    assert polarity == "negative"
    assert settings == {
        "adducts": ["-H"],
        "neutral_losses": ["-H2O"],
        "chem_mods": [],
        "n_peaks": 3,
        "isocalc_sigma": config.isotope_generation.isocalc_sigma,
        "instrument": "TOF",
        "ppm": 3.0,
        "decoy_sample_size": 20,
        "databases": ["core_metabolome", "abc123"],
    }
    from_ds_config, _ = annotation_settings(config.to_ds_config(), None)
    assert from_ds_config == {k: v for k, v in settings.items() if k != "databases"}
    assert annotation_settings({"ppm": 2.0}, None) == ({"ppm": 2.0}, None)


def test_polarity_conflict_is_refused(connect):
    negative, positive = AnnotationConfig.for_polarity("-"), {"polarity": "positive"}
    with pytest.raises(ValidationError, match="positive polarity but the config is for negative"):
        connect().submit_dataset(ionscape.example_dataset(), metadata=positive, config=negative)


def test_metaspace_result_columns():
    table = pd.DataFrame(
        {
            "moldb_id": ["db", "db"],
            "formula": ["C6H12O6", "C5H5N5"],
            "adduct": ["+Na", "+H"],
            "chem_mod": ["", ""],
            "neutral_loss": ["", "-H2O"],
            "ion": ["C6H12O6+Na", "C5H5N5-H2O+H"],
            "ion_formula": ["C6H12O6Na", "C5H4N5O-1"],
            "mz": [203.05, 118.04],
            "msm": [0.5, 0.9],
            "fdr": [0.1, 0.05],
            "chaos": [0.9, 0.95],
            "spatial": [0.7, 0.99],
            "spectral": [0.8, 0.96],
            "max_iso_ints": [np.array([10.0, 2.0]), np.array([30.0, 3.0])],
            "total_iso_ints": [np.array([100.0, 20.0]), np.array([300.0, 30.0])],
            "molecule_ids": ["HMDB1; HMDB2", "HMDB3"],
            "molecule_names": ["glucose; fructose", "adenine"],
        }
    )
    results = metaspace_results(table)
    assert results.index.names == ["formula", "adduct"]
    assert list(results.index) == [("C5H5N5", "+H"), ("C6H12O6", "+Na")]  # best MSM first
    assert results.loc[("C6H12O6", "+Na")].to_dict() == {
        "chemMod": "",
        "neutralLoss": "",
        "ion": "C6H12O6+Na",
        "ionFormula": "C6H12O6Na",
        "mz": 203.05,
        "msm": 0.5,
        "moc": 0.9,
        "rhoSpatial": 0.7,
        "rhoSpectral": 0.8,
        "fdr": 0.1,
        "database": "db",
        "moleculeNames": ["glucose", "fructose"],
        "moleculeIds": ["HMDB1", "HMDB2"],
        "intensity": 10.0,
        "totalIntensity": 100.0,
    }
    wide = metaspace_results(table, include_chem_mods=True, include_neutral_losses=True)
    assert list(wide.index) == [("C5H5N5", "+H", "", "-H2O"), ("C6H12O6", "+Na", "", "")]
