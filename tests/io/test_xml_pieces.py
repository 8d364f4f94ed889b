"""pyimzML run on pieces of an imzML in forked processes gives the index of the whole file, or
steps aside (None) so that the file is parsed whole."""

from __future__ import annotations

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from ionscape.io import xml_pieces
from ionscape.io.imzml import read_imzml_index
from ionscape.io.xml_pieces import find_layout, parse_in_pieces
from tests.io.test_imzml import write_dataset

INDEX_ARRAYS = ("x", "y", "mz_offsets", "mz_lengths", "int_offsets", "int_lengths")


def parse(source):
    return ImzMLParser(source, parse_lib="ElementTree", ibd_file=None)


@pytest.fixture
def small_pieces(monkeypatch):
    """Pieces of a few kB, so that tiny files are cut too."""
    monkeypatch.setattr(xml_pieces, "MIN_PIECE_BYTES", 2_000)


@pytest.fixture
def grid(tmp_path):
    """300 spectra of 1–8 peaks on a 20×15 grid."""
    rng = np.random.default_rng(7)
    spectra = []
    for _ in range(300):
        n = int(rng.integers(1, 9))
        spectra.append((np.sort(rng.uniform(100, 900, n)), rng.uniform(1, 100, n).astype(np.float32)))
    coords = [(x + 1, y + 1) for y in range(15) for x in range(20)]
    return write_dataset(tmp_path / "grid.imzML", spectra, coords)


def test_layout_cuts_at_spectrum_starts_into_equal_shares(small_pieces, grid):
    xml = grid.read_bytes()
    cuts = find_layout(xml, 3)
    assert cuts is not None and len(cuts) == 4
    assert cuts[0] == xml.index(b"<spectrum ")  # the header ends
    assert cuts[-1] == xml.index(b"</spectrumList>")  # the tail starts
    assert all(xml.startswith(b"<spectrum ", cut) for cut in cuts[:-1])
    sizes = np.diff(cuts)
    assert sizes.max() - sizes.min() < 2 * (cuts[-1] - cuts[0]) / 300


@pytest.mark.parametrize("processes", [2, 3])
def test_index_in_pieces_equals_the_whole_files(small_pieces, grid, processes):
    whole = read_imzml_index(grid, spectrum_metadata=False)
    pieces = read_imzml_index(grid, spectrum_metadata=False, processes=processes)
    assert parse_in_pieces(grid.read_bytes(), parse, processes) is not None  # it was cut
    for name in INDEX_ARRAYS:
        np.testing.assert_array_equal(getattr(pieces, name), getattr(whole, name), err_msg=name)
    assert (pieces.width, pieces.height, pieces.mz_dtype, pieces.polarity, pieces.centroided) == (
        whole.width,
        whole.height,
        whole.mz_dtype,
        whole.polarity,
        whole.centroided,
    )


def test_small_files_are_not_cut(grid):
    assert find_layout(grid.read_bytes(), 2) is None  # ≈ 100 kB: below 4 MiB a piece
    assert parse_in_pieces(grid.read_bytes(), parse, 2) is None


def test_prefixed_tags_are_not_cut(small_pieces, grid):
    xml = grid.read_bytes().replace(b"<spectrum ", b"<m:spectrum xmlns:m='http://psi.hupo.org/ms/mzml' ")
    assert find_layout(xml, 2) is None


def test_a_spectrum_start_in_a_comment_makes_the_counts_disagree(small_pieces, grid):
    xml = grid.read_bytes()
    middle = xml.index(b"<spectrum ", len(xml) // 2)
    xml = xml[:middle] + b"<!-- <spectrum id='not one'> -->" + xml[middle:]
    assert parse_in_pieces(xml, parse, 2) is None


def test_a_failing_piece_gives_way_to_the_whole_file(small_pieces, grid):
    xml = grid.read_bytes()
    last = xml.rindex(b"<spectrum ")
    broken = xml[:last] + b"<spectrum><unclosed>" + xml[last:]
    assert parse_in_pieces(broken, parse, 2) is None  # the forked piece fails
    first = xml.index(b"<spectrum ")
    broken = xml[:first] + b"<spectrum><unclosed>" + xml[first:]
    assert parse_in_pieces(broken, parse, 2) is None  # the piece parsed here fails


def test_negative_values_such_as_signed_32_bit_offsets_give_way(small_pieces, grid):
    xml = grid.read_bytes()
    at = xml.rindex(b'name="external offset" value="') + len(b'name="external offset" value="')
    wrapped = xml[:at] + b"-" + xml[at:]  # as a writer of signed 32-bit offsets past 2 GiB would
    assert parse_in_pieces(xml, parse, 2) is not None
    assert parse_in_pieces(wrapped, parse, 2) is None


def test_processes_that_cannot_start_give_way(small_pieces, grid, monkeypatch):
    def refuse(self):
        raise OSError("no processes here")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", refuse)
    assert parse_in_pieces(grid.read_bytes(), parse, 2) is None
    index = read_imzml_index(grid, spectrum_metadata=False, processes=2)  # parsed whole
    assert index.n_spectra == 300
