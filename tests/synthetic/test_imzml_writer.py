"""The streaming imzML writer: files that pyimzML and ionscape read back exactly."""

from __future__ import annotations

import hashlib
import uuid
import warnings

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from ionscape.io.imzml import LocalFile, read_imzml_index, read_peaks
from ionscape.synthetic._imzml import ImzMLStreamWriter

UUID = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")


def spectra(rng, lengths):
    """Random sorted spectra of the given lengths, concatenated."""
    mz = np.concatenate([np.sort(rng.uniform(100, 1000, n)) for n in lengths])
    ints = rng.uniform(1, 1e4, int(sum(lengths))).astype(np.float32)
    return np.asarray(lengths), mz, ints


def parse_quietly(path) -> ImzMLParser:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any pyimzML complaint about the XML fails the test
        return ImzMLParser(str(path))


def writer(path, *, continuous=False, n_spectra=6, polarity="+"):
    return ImzMLStreamWriter(
        path, n_spectra=n_spectra, width=3, height=2, polarity=polarity, continuous=continuous, uuid=UUID
    )


@pytest.fixture
def processed(tmp_path):
    """A 3×2 processed dataset written in two blocks (one of them with an empty spectrum)."""
    rng = np.random.default_rng(0)
    blocks = [spectra(rng, [5, 0, 7]), spectra(rng, [1, 3, 2])]
    path = tmp_path / "p.imzML"
    with writer(path) as w:
        for y, (lengths, mz, ints) in enumerate(blocks, start=1):
            w.write_spectra(np.arange(1, 4), np.full(3, y), lengths, mz, ints)
    return path, blocks


def test_processed_reads_back_with_pyimzml(processed):
    path, blocks = processed
    parser = parse_quietly(path)
    assert parser.coordinates == [(x, y, 1) for y in (1, 2) for x in (1, 2, 3)]
    assert parser.mzPrecision == "d" and parser.intensityPrecision == "f"
    assert parser.polarity == "positive" and parser.spectrum_mode == "centroid"
    i = 0
    for lengths, mz, ints in blocks:
        ends = np.cumsum(lengths)
        for start, end in zip(ends - lengths, ends, strict=True):
            got_mz, got_ints = parser.getspectrum(i)
            np.testing.assert_array_equal(got_mz, mz[start:end])
            np.testing.assert_array_equal(got_ints, ints[start:end])
            i += 1
    assert parser.imzmldict["max count of pixels x"] == 3


def test_processed_reads_back_with_ionscape(processed):
    path, blocks = processed
    index = read_imzml_index(path)
    mz, ints, pixel = read_peaks(index, LocalFile(path.with_suffix(".ibd")))
    np.testing.assert_array_equal(mz, np.concatenate([b[1] for b in blocks]))
    np.testing.assert_array_equal(ints, np.concatenate([b[2] for b in blocks]))
    lengths = np.concatenate([b[0] for b in blocks])
    np.testing.assert_array_equal(pixel, np.repeat(np.arange(6), lengths))
    assert not index.continuous and index.centroided and index.polarity == "+"
    assert index.uuid == UUID.hex
    tic = [ints[s:e].sum() for s, e in zip(np.cumsum(lengths) - lengths, np.cumsum(lengths), strict=True)]
    np.testing.assert_allclose(index.tic, tic, rtol=1e-6)


def test_checksum_and_uuid_match_the_ibd(processed):
    path, _ = processed
    ibd = path.with_suffix(".ibd").read_bytes()
    assert ibd[:16] == UUID.bytes
    xml = path.read_text()
    assert f'name="ibd SHA-1" value="{hashlib.sha1(ibd).hexdigest().upper()}"' in xml
    assert f"{{{str(UUID).upper()}}}" in xml


def test_continuous_mode_shares_one_axis(tmp_path):
    path = tmp_path / "c.imzML"
    axis = np.array([100.0, 150.5, 300.25, 999.0])
    ints = np.arange(24, dtype=np.float32).reshape(6, 4) % 5  # some zeros
    with writer(path, continuous=True, polarity="-") as w:
        w.write_axis(axis)
        for y in (1, 2):
            w.write_spectra(
                np.arange(1, 4), np.full(3, y), np.full(3, 4), None, ints[3 * (y - 1) : 3 * y].ravel()
            )
    parser = parse_quietly(path)
    assert parser.polarity == "negative"
    assert len(set(parser.mzOffsets)) == 1
    for i in range(6):
        got_mz, got_ints = parser.getspectrum(i)
        np.testing.assert_array_equal(got_mz, axis)
        np.testing.assert_array_equal(got_ints, ints[i])
    index = read_imzml_index(path)
    assert index.continuous and index.polarity == "-"
    mz, got, _ = read_peaks(index, LocalFile(path.with_suffix(".ibd")))
    np.testing.assert_array_equal(got, ints[ints > 0])  # the reader drops zero intensities
    np.testing.assert_array_equal(mz, np.tile(axis, 6)[ints.ravel() > 0])


def test_wrong_spectrum_count_removes_the_files(tmp_path):
    path = tmp_path / "short.imzML"
    lengths, mz, ints = spectra(np.random.default_rng(1), [2, 2, 2])
    with pytest.raises(ValueError, match="declared 6 spectra but wrote 3"), writer(path) as w:
        w.write_spectra(np.arange(1, 4), np.ones(3), lengths, mz, ints)
    assert not path.exists() and not path.with_suffix(".ibd").exists()


def test_an_error_while_writing_removes_the_files(tmp_path):
    path = tmp_path / "broken.imzML"
    with pytest.raises(RuntimeError), writer(path):
        raise RuntimeError("generator failed")
    assert not path.exists() and not path.with_suffix(".ibd").exists()


def test_continuous_spectra_need_the_axis_first(tmp_path):
    with pytest.raises(ValueError, match="axis"), writer(tmp_path / "c.imzML", continuous=True) as w:
        w.write_spectra(np.arange(1, 4), np.ones(3), np.full(3, 2), None, np.ones(6, np.float32))
