"""Isotope envelopes of planted ions: IsoSpecPy's fine structure, blurred and re-centroided."""

from __future__ import annotations

import numpy as np
import pytest

from ionscape.synthetic._isotopes import (
    engine_envelopes,
    engine_sigma,
    isospec_envelopes,
    resolving_power_at,
)

# monoisotopic masses (NIST) and isotope abundances (IUPAC), independent of both isotope libraries
CARBON, HYDROGEN, OXYGEN = 12.0, 1.00782503207, 15.99491461956
ELECTRON = 0.00054857990946
C6H13O6_PLUS = 6 * CARBON + 13 * HYDROGEN + 6 * OXYGEN - ELECTRON
# M+1 / M: one 13C, 2H or 17O instead of the light isotope
C6H13O6_M1 = 6 * 0.0107 / 0.9893 + 13 * 0.000115 / 0.999885 + 6 * 0.00038 / 0.99757


def test_isospec_monoisotopic_mz_and_first_isotope_ratio():
    mz, rel = isospec_envelopes(["C6H13O6"], 1, 2000, 200, "TOF", 4)
    assert mz[0, 0] == pytest.approx(C6H13O6_PLUS, abs=1e-6)
    assert rel[0, 0] == 1.0
    assert rel[0, 1] == pytest.approx(C6H13O6_M1, rel=0.02)
    assert mz[0, 1] - mz[0, 0] == pytest.approx(1.0034, abs=0.001)


def test_negative_ions_carry_an_extra_electron():
    mz, _ = isospec_envelopes(["C6H11O6"], -1, 2000, 200, "TOF", 1)
    assert mz[0, 0] == pytest.approx(6 * CARBON + 11 * HYDROGEN + 6 * OXYGEN + ELECTRON, abs=1e-6)


def test_fine_structure_is_resolved_only_at_high_resolving_power():
    """13C (+1.00336), 17O (+1.00422) and 2H (+1.00628) of M+1 merge at low resolving power only."""
    low, _ = isospec_envelopes(["C6H13O6"], 1, 2000, 200, "TOF", 6)
    high, _ = isospec_envelopes(["C6H13O6"], 1, 1_000_000, 200, "TOF", 6)
    nominal = lambda mz: np.rint(mz[mz > 0] - mz[0, 0])  # noqa: E731
    assert np.count_nonzero(nominal(low) == 1) == 1
    assert np.count_nonzero(nominal(high) == 1) == 3


@pytest.mark.parametrize("ion", ["C6H13O6", "C16H32O2K", "C42H83NO8PNa", "C10H17N5O13P3"])
def test_isospec_agrees_with_the_engine(ion):
    """Two independent isotope calculations, both resolving the fine structure: same first m/z
    (0.1 ppm) and the same total M+1 intensity (2 %)."""
    engine_mz, engine_rel = engine_envelopes([ion], 1, 0.000173, 8)
    iso_mz, iso_rel = isospec_envelopes([ion], 1, 1_000_000, 200, "TOF", 8)
    assert iso_mz[0, 0] == pytest.approx(engine_mz[0, 0], rel=1e-7)
    engine_m1 = engine_rel[0][np.abs(engine_mz[0] - engine_mz[0, 0] - 1.0034) < 0.01].sum()
    iso_m1 = iso_rel[0][np.abs(iso_mz[0] - iso_mz[0, 0] - 1.0034) < 0.01].sum()
    assert iso_m1 == pytest.approx(engine_m1, rel=0.02)


def test_resolving_power_scales_with_the_analyzer():
    mz = np.array([200.0, 800.0])
    assert resolving_power_at(mz, 100_000, 200, "FTICR").tolist() == [100_000, 25_000]
    assert resolving_power_at(mz, 100_000, 200, "Orbitrap").tolist() == [100_000, 50_000]
    assert resolving_power_at(mz, 100_000, 200, "TOF").tolist() == [100_000, 100_000]


def test_engine_sigma_follows_metaspace_buckets_unless_given():
    assert engine_sigma(140_000, 200, "Orbitrap", None) == 0.001238
    assert engine_sigma(140_000, 200, "Orbitrap", 0.0005) == 0.0005
