import re
from pathlib import Path

import pytest

from ionscape.chem.modifiers import (
    DECOY_ADDUCTS,
    TargetModifier,
    decoy_candidates,
    decoy_prefixes,
    target_modifiers,
    validate_modifier,
)
from ionscape.config import AnnotationConfig
from ionscape.errors import ConfigError

EXAMPLE_CONFIG = Path(__file__).parents[2] / "src/ionscape/data/example/untreated_tiny/config.json"


def test_decoy_adducts_are_the_80_of_the_spec_in_order():
    assert len(DECOY_ADDUCTS) == len(set(DECOY_ADDUCTS)) == 80
    assert DECOY_ADDUCTS[:8] == ("+He", "+Li", "+Be", "+B", "+C", "+N", "+O", "+F")
    assert DECOY_ADDUCTS[-6:] == ("+W", "+Au", "+Er", "+Hf", "+Hg", "+Ta")
    assert DECOY_ADDUCTS.index("+Cl") == 14
    assert not {"+H", "+Na", "+K"} & set(DECOY_ADDUCTS)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("+H", "adduct"),
        ("-H", "adduct"),
        ("+Cl", "adduct"),
        ("[M]+", "adduct"),
        ("[M]-", "adduct"),
        ("-H2O", "neutral_loss"),
        ("-H2O+H", "chem_mod"),
        ("-H+C", "chem_mod"),
        ("+Cx2", "chem_mod"),
        ("-H10+H10", "adduct"),
    ],
)
def test_validate_modifier_accepts(value, kind):
    validate_modifier(value, kind)


@pytest.mark.parametrize(
    ("value", "kind", "message"),
    [
        ("+Xy", "adduct", "unknown adduct '+Xy': element Xy is not known"),
        ("-H2O+Qq", "neutral_loss", "unknown neutral_loss '-H2O+Qq': element Qq is not known"),
        ("H", "adduct", "adduct 'H' must start with + or -"),
        ("[M]+", "chem_mod", "chem_mod '[M]+' is not allowed"),
        ("[M]-", "neutral_loss", "neutral_loss '[M]-' is not allowed"),
        ("", "adduct", "empty adduct: use '[M]+' or '[M]-'"),
        ("", "chem_mod", "empty chem_mod"),
        ("+H2O-", "neutral_loss", "malformed neutral_loss"),
        ("+h", "adduct", "malformed adduct"),
        ("+(OH)", "chem_mod", "malformed chem_mod"),
        ("+H", "isotope", "unknown modifier kind 'isotope'"),
    ],
)
def test_validate_modifier_rejects(value, kind, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_modifier(value, kind)


def test_configs_validate_their_modifiers():
    assert AnnotationConfig().isotope_generation.adducts == ("+H", "+Na", "+K")
    example = AnnotationConfig.from_json(EXAMPLE_CONFIG)
    assert example.isotope_generation.adducts == ("+H", "+K", "+Na")
    with pytest.raises(ConfigError, match="element Xy is not known"):
        AnnotationConfig().with_overrides(adducts=("+H", "+Xy"))
    with pytest.raises(ConfigError, match="neutral_loss 'H2O' must start"):
        AnnotationConfig().with_overrides(neutral_losses=("H2O",))


def test_target_modifiers_defaults():
    assert target_modifiers(["+H", "+Na", "+K"], [], []) == [
        TargetModifier("+H", "", "", "+H", ""),
        TargetModifier("+Na", "", "", "+Na", ""),
        TargetModifier("+K", "", "", "+K", ""),
    ]


def test_target_modifiers_nesting_order_and_charge_only_adducts():
    modifiers = target_modifiers(["+H", "[M]+"], ["-H2O+H"], ["-H2O"])
    # chem_mod outer, neutral loss middle, adduct inner; [M]+ contributes ""
    assert modifiers == [
        TargetModifier("+H", "", "", "+H", ""),
        TargetModifier("", "", "", "[M]+", ""),
        TargetModifier("-H2O+H", "", "-H2O", "+H", "-H2O"),
        TargetModifier("-H2O", "", "-H2O", "[M]+", "-H2O"),
        TargetModifier("-H2O+H+H", "-H2O+H", "", "+H", "-H2O+H"),
        TargetModifier("-H2O+H", "-H2O+H", "", "[M]+", "-H2O+H"),
        TargetModifier("-H2O+H-H2O+H", "-H2O+H", "-H2O", "+H", "-H2O+H-H2O"),
        TargetModifier("-H2O+H-H2O", "-H2O+H", "-H2O", "[M]+", "-H2O+H-H2O"),
    ]


def test_decoy_prefixes_take_the_first_interpretation():
    prefixes = decoy_prefixes(target_modifiers(["+H", "[M]+"], ["-H2O+H"], ["-H2O"]))
    assert prefixes == {
        "+H": "",
        "": "",
        "-H2O+H": "-H2O",  # also chem_mod -H2O+H with [M]+, which comes later
        "-H2O": "-H2O",
        "-H2O+H+H": "-H2O+H",
        "-H2O+H-H2O+H": "-H2O+H-H2O",
        "-H2O+H-H2O": "-H2O+H-H2O",
    }
    assert list(prefixes) == ["+H", "", "-H2O+H", "-H2O", "-H2O+H+H", "-H2O+H-H2O+H", "-H2O+H-H2O"]


def test_decoy_candidates():
    assert decoy_candidates(["+H", "+Na", "+K"], [], []) == list(DECOY_ADDUCTS)
    negative = decoy_candidates(["-H", "+Cl"], [], [])
    assert len(negative) == 79
    assert negative == [decoy for decoy in DECOY_ADDUCTS if decoy != "+Cl"]
    assert "+C" not in decoy_candidates(["+H"], ["+C"], [])
    assert "+O" not in decoy_candidates(["+H"], [], ["+O"])
    assert len(decoy_candidates(["+Fe", "+Cu"], ["-H+C"], ["-H2O"])) == 78
