"""Adducts, chemical modifications, neutral losses and decoy adducts (ALGORITHM.md §2.1, §4.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

from ionscape.chem.formulas import CHARGE_ONLY_ADDUCTS, is_modifier, unknown_elements
from ionscape.errors import ConfigError

__all__ = [
    "DECOY_ADDUCTS",
    "MODIFIER_KINDS",
    "TargetModifier",
    "decoy_candidates",
    "decoy_prefixes",
    "target_modifiers",
    "validate_modifier",
]

# Upstream order: the decoy RNG draws positions in this list (§4.1).
_DECOY_ELEMENTS = (
    "He Li Be B C N O F Ne Mg Al Si P S Cl Ar Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y "
    "Zr Nb Mo Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho Ir Th Pt Os Yb Lu Bi Pb "
    "Re Tl Tm U W Au Er Hf Hg Ta"
)
DECOY_ADDUCTS: tuple[str, ...] = tuple(f"+{element}" for element in _DECOY_ELEMENTS.split())

MODIFIER_KINDS = ("adduct", "chem_mod", "neutral_loss")


def validate_modifier(value: str, kind: str) -> None:
    """Check one configured adduct, chemical modification or neutral loss.

    ``value`` must be signed groups such as ``+Na`` or ``-H2O+H`` made of known elements;
    ``[M]+`` and ``[M]-`` (no atoms added) are accepted as adducts only.

    Raises
    ------
    ConfigError
        ``kind`` is not one of ``MODIFIER_KINDS`` or ``value`` is malformed or names an unknown element.
    """
    if kind not in MODIFIER_KINDS:
        raise ConfigError(f"unknown modifier kind {kind!r}: use one of {', '.join(MODIFIER_KINDS)}")
    if not isinstance(value, str):
        raise ConfigError(f"{kind} must be a string, got {value!r}")
    if value in CHARGE_ONLY_ADDUCTS:
        if kind != "adduct":
            raise ConfigError(f"{kind} {value!r} is not allowed: [M]+ and [M]- are adducts only")
        return
    if not value:
        hint = ": use '[M]+' or '[M]-' for the unchanged molecule" if kind == "adduct" else ""
        raise ConfigError(f"empty {kind}{hint}")
    if value[0] not in "+-":
        raise ConfigError(f"{kind} {value!r} must start with + or -")
    if not is_modifier(value):
        raise ConfigError(
            f"malformed {kind} {value!r}: expected signed groups of element symbols and counts, "
            "such as '+Na' or '-H2O+H'"
        )
    unknown = unknown_elements(value)
    if unknown:
        raise ConfigError(f"unknown {kind} {value!r}: element {unknown[0]} is not known")


@dataclass(frozen=True)
class TargetModifier:
    """One (chem_mod, neutral_loss, adduct) interpretation of a target modifier (§2.1).

    ``tm`` is their concatenation with ``[M]+``/``[M]-`` written as ``""``; ``decoy_prefix`` is
    chem_mod + neutral_loss, which decoy modifiers start with.
    """

    tm: str
    chem_mod: str
    neutral_loss: str
    adduct: str
    decoy_prefix: str


def target_modifiers(
    adducts: Sequence[str], chem_mods: Sequence[str], neutral_losses: Sequence[str]
) -> list[TargetModifier]:
    """All target modifiers: chem_mod in ``["", *chem_mods]`` (outer), neutral loss in
    ``["", *neutral_losses]`` (middle), adduct (inner). Several can share one ``tm`` string."""
    modifiers = []
    for chem_mod, neutral_loss, adduct in product(["", *chem_mods], ["", *neutral_losses], adducts):
        prefix = chem_mod + neutral_loss
        tm = prefix + ("" if adduct in CHARGE_ONLY_ADDUCTS else adduct)
        modifiers.append(TargetModifier(tm, chem_mod, neutral_loss, adduct, prefix))
    return modifiers


def decoy_prefixes(modifiers: Sequence[TargetModifier]) -> dict[str, str]:
    """Map each distinct ``tm`` (first-appearance order) to the decoy prefix of its first interpretation.

    When one tm string has several interpretations (``-H2O+H`` as a chem_mod, or as neutral loss
    ``-H2O`` plus adduct ``+H``), its decoys are drawn once, with the prefix of the interpretation
    that comes first in §2.1 order.
    """
    prefixes: dict[str, str] = {}
    for modifier in modifiers:
        prefixes.setdefault(modifier.tm, modifier.decoy_prefix)
    return prefixes


def decoy_candidates(
    adducts: Sequence[str], chem_mods: Sequence[str], neutral_losses: Sequence[str]
) -> list[str]:
    """The decoy adducts (§4.1, upstream order) minus any equal to a configured modifier."""
    configured = {*adducts, *chem_mods, *neutral_losses}
    return [decoy for decoy in DECOY_ADDUCTS if decoy not in configured]
