"""Settings of synthetic datasets: planted-ion syntax, validation, JSON form."""

from __future__ import annotations

import json

import pytest

from ionscape.errors import ConfigError
from ionscape.synthetic import PlantedIon, SynthSpec


@pytest.mark.parametrize(
    ("text", "formula", "adduct"),
    [
        ("C6H12O6+Na", "C6H12O6", "+Na"),
        ("C5H9NO4-H", "C5H9NO4", "-H"),
        ("C10H10N2[M]+", "C10H10N2", "[M]+"),
        (" C6H12O6-H2O+H ", "C6H12O6", "-H2O+H"),
        ("C16H32O2+NH4", "C16H32O2", "+NH4"),
    ],
)
def test_planted_ion_parse(text, formula, adduct):
    ion = PlantedIon.parse(text)
    assert (ion.formula, ion.adduct) == (formula, adduct)
    assert str(ion) == text.strip()


@pytest.mark.parametrize("text", ["C6H12O6", "+Na", "C6H12O6+", ""])
def test_planted_ion_parse_rejects(text):
    with pytest.raises(ConfigError, match="FORMULA\\+ADDUCT"):
        PlantedIon.parse(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"width": 0}, "width"),
        ({"peaks_per_spectrum": -1}, "peaks_per_spectrum"),
        ({"mz_range": (500.0, 100.0)}, "mz_range"),
        ({"polarity": "x"}, "polarity"),
        ({"isotopes": "magic"}, "isotopes"),
        ({"patterns": ("stripes",)}, "patterns"),
        ({"adducts": ("+Xy",)}, "Xy"),
        ({"abundance_range": (10.0, 1.0)}, "abundance_range"),
        ({"database": None}, "needs a database"),
        ({"isobar_fraction": 1.5}, "isobar_fraction"),
    ],
)
def test_invalid_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        SynthSpec(**changes)


def test_default_adducts_follow_polarity():
    assert SynthSpec().adducts_used == ("+H", "+Na", "+K")
    assert SynthSpec(polarity="-").adducts_used == ("-H", "+Cl")
    assert SynthSpec(adducts=("+NH4",)).adducts_used == ("+NH4",)


def test_to_dict_is_json_and_lists_planted_ions():
    spec = SynthSpec(planted=(PlantedIon("C6H12O6", "+Na"),), width=7)
    values = json.loads(json.dumps(spec.to_dict()))
    assert values["planted"] == ["C6H12O6+Na"]
    assert values["width"] == 7 and values["mz_range"] == [100.0, 1000.0]
