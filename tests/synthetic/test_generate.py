"""Synthetic datasets: valid files, deterministic, and the data agree with the ground truth."""

from __future__ import annotations

import tracemalloc
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from ionscape.chem.formulas import ion_formula
from ionscape.chem.isotopes import IsotopeSettings, compute_centroids
from ionscape.chem.moldb import load_moldb
from ionscape.errors import ConfigError
from ionscape.io.imzml import LocalFile, read_imzml_index, read_peaks
from ionscape.synthetic import (
    PlantedIon,
    SynthSpec,
    load_truth,
    synthesize,
    truth_paths,
    write_planted_dataset,
)

SPEC = SynthSpec(width=24, height=16, peaks_per_spectrum=300, n_planted=8, seed=5)
WINDOW_PPM = 5.0  # jitter: 1 ppm per peak and 0.5 ppm per spectrum, so 5 ppm is > 4 sd


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "data.imzML"
    return synthesize(path, SPEC)


@pytest.fixture(scope="module")
def peaks(dataset):
    """(mz, ints, pixel) of every recorded peak, read with ionscape's reader."""
    index = read_imzml_index(dataset.imzml_path)
    return read_peaks(index, LocalFile(dataset.imzml_path.with_suffix(".ibd")))


def window_image(peaks, mz: float, ppm: float = WINDOW_PPM) -> np.ndarray:
    """(height, width) summed intensity of the peaks within ``ppm`` of ``mz``."""
    peak_mz, ints, pixel = peaks
    inside = np.abs(peak_mz - mz) <= ppm * 1e-6 * mz
    image = np.bincount(pixel[inside], weights=ints[inside], minlength=SPEC.n_spectra)
    return image.reshape(SPEC.height, SPEC.width)


def base_peak_mz(row) -> float:
    mzs = np.array(row.theo_mzs.split(";"), dtype=float)
    return float(mzs[np.argmax(np.array(row.theo_ints.split(";"), dtype=float))])


def test_pyimzml_and_ionscape_read_the_same_sorted_spectra(dataset, peaks):
    parser = ImzMLParser(str(dataset.imzml_path))
    assert sorted(parser.coordinates) == sorted((x, y, 1) for x in range(1, 25) for y in range(1, 17))
    spectra = [parser.getspectrum(i) for i in range(len(parser.coordinates))]
    assert all(np.all(np.diff(mz) > 0) for mz, _ in spectra)
    np.testing.assert_array_equal(np.concatenate([mz for mz, _ in spectra]), peaks[0])
    np.testing.assert_array_equal(np.concatenate([ints for _, ints in spectra]), peaks[1])
    lengths = np.array([len(mz) for mz, _ in spectra])
    assert lengths.min() >= 0.9 * SPEC.peaks_per_spectrum - 1
    assert abs(lengths.mean() - SPEC.peaks_per_spectrum) < 0.1 * SPEC.peaks_per_spectrum


def test_every_recorded_peak_is_above_the_detection_limit_and_in_range(peaks):
    mz, ints, _ = peaks
    assert ints.min() >= SPEC.detection_limit
    assert SPEC.mz_range[0] <= mz.min() and mz.max() <= SPEC.mz_range[1]


def test_summary_and_truth_files_agree_with_the_data(dataset, peaks):
    index = read_imzml_index(dataset.imzml_path)
    summary = dataset.summary
    assert summary["n_spectra"] == index.n_spectra == SPEC.n_spectra
    assert summary["n_peaks"] == index.n_peaks == len(peaks[0])
    assert summary["ibd_bytes"] == dataset.imzml_path.with_suffix(".ibd").stat().st_size
    assert summary["uuid"].replace("-", "") == index.uuid
    loaded = load_truth(dataset.imzml_path)
    pd.testing.assert_frame_equal(loaded.ions, dataset.ions)
    assert loaded.summary == summary
    assert loaded.images.shape == (SPEC.n_planted, SPEC.height, SPEC.width)
    np.testing.assert_array_equal(loaded.images, dataset.images)
    last = dataset.planted.iloc[-1]
    np.testing.assert_array_equal(
        loaded.image(last["formula"], last["adduct"]), dataset.images[last["image"]]
    )
    with pytest.raises(KeyError, match="not a planted ion"):
        loaded.image("C6H12O6", "+Xe")


def test_planted_ions_follow_their_truth_images(dataset, peaks):
    """Where the truth says an ion is bright its base peak is there; where it is absent, it is not."""
    lod = SPEC.detection_limit
    for row in dataset.planted.itertuples():
        truth = dataset.images[row.image]
        seen = window_image(peaks, base_peak_mz(row)) > 0
        assert seen[truth >= 10 * lod].mean() >= 0.95, row.name
        assert seen[truth == 0].mean() <= 0.03, row.name
        assert abs(int(seen.sum()) - row.detected_pixels) <= 0.03 * SPEC.n_spectra, row.name
        assert 0 < truth.max() <= row.abundance * (1 + 1e-6)


def test_planted_peaks_sit_at_their_mz_within_the_jitter(dataset, peaks):
    peak_mz, _, pixel = peaks
    errors = []
    for row in dataset.planted.itertuples():
        bright = (dataset.images[row.image] >= 10 * SPEC.detection_limit).ravel()
        for mz in np.array(row.theo_mzs.split(";"), dtype=float):
            inside = (np.abs(peak_mz - mz) <= WINDOW_PPM * 1e-6 * mz) & bright[pixel]
            errors.append((peak_mz[inside] - mz) / mz * 1e6)
    errors = np.concatenate(errors)
    assert len(errors) > 1000
    assert abs(errors.mean()) < 0.1
    assert errors.std() == pytest.approx(SPEC.mz_jitter_ppm * np.sqrt(1.25), rel=0.1)


def test_matrix_ions_are_in_every_spectrum(dataset, peaks):
    matrix = dataset.ions[dataset.ions["kind"] == "matrix"]
    strongest = matrix.loc[matrix["abundance"].idxmax()]
    assert (window_image(peaks, base_peak_mz(strongest)) > 0).all()
    assert strongest["detected_pixels"] == SPEC.n_spectra
    assert (matrix["detected_pixels"] >= 0.9 * SPEC.n_spectra).mean() > 0.8


def test_matrix_ions_have_the_mz_of_the_matrix_list(dataset):
    listed = pd.read_csv(resources.files("ionscape") / "data" / "matrix" / "matrix_dhb_pos.csv")
    listed_mz = listed.set_index("mol_name")["mz"]
    matrix = dataset.ions[dataset.ions["kind"] == "matrix"]
    assert len(matrix) > 50
    np.testing.assert_allclose(matrix["mz"], listed_mz.loc[matrix["name"]], rtol=1e-6)


def test_background_peaks_recur_in_their_share_of_pixels(dataset, peaks):
    background = dataset.ions[dataset.ions["kind"] == "background"]
    assert len(background) == round(0.05 * SPEC.peaks_per_spectrum)
    for row in background.itertuples():
        share = (window_image(peaks, row.mz) > 0).mean()
        assert share <= row.presence + 0.08
        if row.abundance >= 5 * SPEC.detection_limit:
            assert share >= row.presence - 0.1


def test_isobars_are_the_database_ions_within_ppm_of_planted_ones(dataset):
    """Brute force over every database ion: the truth lists exactly the non-planted ones within 3 ppm."""
    formulas = load_moldb("core_metabolome").formulas
    pairs = [(f, a) for f in formulas for a in SPEC.adducts_used]
    ions = [ion_formula(f, a) for f, a in pairs]
    kept = [i for i, ion in enumerate(ions) if ion]
    mz, _ = compute_centroids([ions[i] for i in kept], IsotopeSettings(charge=1, isocalc_sigma=0.001238))
    planted = dataset.planted
    planted_keys = set(planted["formula"] + planted["adduct"])
    expected = set()
    for p in planted.itertuples():
        close = np.abs(mz[:, 0] - p.mz) <= SPEC.isobar_ppm * 1e-6 * p.mz
        expected |= {(pairs[kept[i]], p.name) for i in np.flatnonzero(close)}
    expected = {(pair, near) for pair, near in expected if pair[0] + pair[1] not in planted_keys}
    isobars = dataset.ions[dataset.ions["kind"].isin(["isobar", "same_ion"])]
    listed = zip(zip(isobars["formula"], isobars["adduct"], strict=True), isobars["near"], strict=True)
    assert set(listed) == expected
    assert (isobars["ppm"].abs() <= SPEC.isobar_ppm).all()
    near_mz = planted.set_index("name")["mz"].loc[isobars["near"]].to_numpy()
    np.testing.assert_allclose(isobars["ppm"], (isobars["mz"] - near_mz) / near_mz * 1e6)
    near_ion = planted.set_index("name")["ion_formula"].loc[isobars["near"]].to_numpy()
    np.testing.assert_array_equal(
        isobars["kind"] == "same_ion", isobars["ion_formula"].to_numpy() == near_ion
    )
    n_with_isobar = planted["name"].isin(isobars.loc[isobars["kind"] == "isobar", "near"]).sum()
    assert n_with_isobar >= round(SPEC.isobar_fraction * SPEC.n_planted)


def test_random_planted_ions_are_distinct_and_apart(dataset):
    planted = dataset.planted
    assert len(planted) == SPEC.n_planted and planted["formula"].is_unique
    assert set(planted["adduct"]) <= set(SPEC.adducts_used)
    mz = np.sort(planted["mz"].to_numpy())
    assert (np.diff(mz) / mz[1:] * 1e6 > 10).all()
    assert sorted(set(planted["pattern"])) == sorted(SPEC.patterns)


def test_same_seed_gives_the_same_bytes(tmp_path):
    spec = SynthSpec(width=10, height=6, peaks_per_spectrum=100, n_planted=3, seed=11)
    files = []
    for name in ("a", "b", "c"):
        folder = tmp_path / name
        folder.mkdir()
        seeded = spec if name != "c" else SynthSpec(**{**spec.__dict__, "seed": 12})
        truth = synthesize(folder / "d.imzML", seeded)
        paths = [
            truth.imzml_path,
            truth.imzml_path.with_suffix(".ibd"),
            *truth_paths(truth.imzml_path).values(),
        ]
        files.append([p.read_bytes() if p.suffix != ".json" else _without_timing(p) for p in paths])
    assert files[0] == files[1]
    assert files[0][1] != files[2][1]


def _without_timing(path) -> bytes:
    """The summary JSON minus the lines that hold wall-clock figures."""
    lines = path.read_text().splitlines()
    return "\n".join(line for line in lines if '"seconds"' not in line and '"mb_per_s"' not in line).encode()


def test_memory_does_not_grow_with_the_dataset(tmp_path):
    """Spectra are streamed row by row: 8× more rows, same peak memory (one row is ~100 kB)."""

    def peak_memory(height: int) -> tuple[int, int]:
        spec = SynthSpec(
            width=40,
            height=height,
            peaks_per_spectrum=300,
            database=None,
            planted=(PlantedIon("C6H12O6", "+Na"), PlantedIon("C16H32O2", "+K")),
            n_planted=0,
        )
        tracemalloc.start()
        truth = synthesize(tmp_path / f"h{height}.imzML", spec)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, truth.summary["ibd_bytes"]

    peak_memory(2)  # imports and caches
    small, small_bytes = peak_memory(4)
    large, large_bytes = peak_memory(32)
    assert large_bytes > 7 * small_bytes
    assert large < 1.25 * small
    assert large < large_bytes / 2


def test_continuous_dataset_shares_one_axis(tmp_path):
    spec = SynthSpec(
        width=12, height=8, peaks_per_spectrum=200, n_planted=3, continuous=True, tissue=False, seed=2
    )
    truth = synthesize(tmp_path / "c.imzML", spec)
    parser = ImzMLParser(str(truth.imzml_path))
    axis = parser.getspectrum(0)[0]
    assert len(set(parser.mzOffsets)) == 1 and np.all(np.diff(axis) > 0)
    index = read_imzml_index(truth.imzml_path)
    assert index.continuous
    mz, _, pixel = read_peaks(index, LocalFile(truth.imzml_path.with_suffix(".ibd")))
    for row in truth.planted.itertuples():
        base = base_peak_mz(row)
        on_axis = axis[np.argmin(np.abs(axis - base))]
        assert on_axis == pytest.approx(base, abs=1e-6)  # no jitter; theo_mzs has 6 decimals
        assert len(np.unique(pixel[mz == on_axis])) == row.detected_pixels > 0


def test_negative_mode_isospec_dataset(tmp_path):
    spec = SynthSpec(
        width=12,
        height=8,
        peaks_per_spectrum=200,
        polarity="-",
        matrix="9AA",
        n_planted=4,
        isotopes="isospec",
    )
    truth = synthesize(tmp_path / "n.imzML", spec)
    assert read_imzml_index(truth.imzml_path).polarity == "-"
    assert set(truth.planted["adduct"]) <= {"-H", "+Cl"}
    listed = pd.read_csv(resources.files("ionscape") / "data" / "matrix" / "matrix_9aa_neg.csv")
    matrix = truth.ions[truth.ions["kind"] == "matrix"]
    np.testing.assert_allclose(
        matrix["mz"], listed.set_index("mol_name")["mz"].loc[matrix["name"]], rtol=1e-6
    )
    for row in truth.planted.itertuples():
        first = float(row.theo_mzs.split(";")[0])
        assert first == pytest.approx(row.mz, rel=1e-6)  # IsoSpecPy's and the engine's monoisotopic m/z


def test_write_planted_dataset_plants_exactly_the_given_ions(tmp_path):
    planted = [PlantedIon("C6H12O6", "+H"), PlantedIon("C5H9NO4", "+Na")]
    path = write_planted_dataset(tmp_path / "p.imzML", planted, width=6, height=5, noise_peaks=50)
    truth = load_truth(path)
    assert list(truth.planted["name"]) == ["C6H12O6+H", "C5H9NO4+Na"]
    assert truth.images is None and not (truth.ions["kind"] == "matrix").any()
    assert read_imzml_index(path).n_spectra == 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"matrix": "XYZ"}, "known: CHCA, DAN, DCTB, DHAP, DHB, NOR, PNA"),
        ({"n_planted": 5000}, "suitable ions"),
        ({"planted": (PlantedIon("C6H12O6", "-H20"),), "n_planted": 0}, "C6H12O6-H20"),
    ],
)
def test_impossible_requests_are_refused(tmp_path, changes, message):
    with pytest.raises(ConfigError, match=message):
        synthesize(tmp_path / "x.imzML", SynthSpec(width=2, height=2, **changes))
    assert not (tmp_path / "x.imzML").exists()
