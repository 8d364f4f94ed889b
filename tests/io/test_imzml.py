import io
import logging
import pickle
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pyimzml.ImzMLParser import ImzMLParser
from pyimzml.ImzMLWriter import ImzMLWriter

from ionscape.errors import (
    DatasetError,
    DatasetTooLargeError,
    EmptyDatasetError,
    IncompleteIbdError,
    MissingIbdError,
    ProfileModeError,
)
from ionscape.io import imzml
from ionscape.io.imzml import (
    LocalFile,
    check_ibd_uuid,
    find_ibd,
    read_imzml_index,
    read_peaks,
)

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "src/ionscape/data/example/untreated_tiny/Untreated_3_434_tiny.imzML"
CONTINUOUS = REPO / "tests/data/imzml/example_continuous/Example_Continuous.imzML"
PROCESSED = REPO / "tests/data/imzml/example_processed/Example_Processed.imzML"

# Four spectra at the corners of a 3×3 grid (1-based file coordinates); odd lengths so that
# 32-bit arrays leave later arrays misaligned for 64-bit reads.
CORNERS = [(1, 1), (3, 1), (1, 3), (3, 3)]
SPECTRA = [
    ([100.5, 200.25, 300.125], [1.0, 0.0, 3.0]),
    ([101.0, 201.0, 301.0], [4.0, 5.0, 6.0]),
    ([102.0, 202.0, 302.0], [0.0, 0.0, 0.0]),
    ([103.0, 203.0, 303.0], [7.0, 8.0, 0.0]),
]
SHARED_MZ = [100.5, 200.25, 300.125]


def write_dataset(
    path,
    spectra,
    coords,
    *,
    mz_dtype=np.float64,
    int_dtype=np.float32,
    mode="processed",
    spec_type="centroid",
    polarity=None,
):
    with ImzMLWriter(
        str(path),
        mz_dtype=mz_dtype,
        intensity_dtype=int_dtype,
        mode=mode,
        spec_type=spec_type,
        polarity=polarity,
    ) as writer:
        for (mzs, ints), xy in zip(spectra, coords, strict=True):
            writer.addSpectrum(np.asarray(mzs), np.asarray(ints), xy)
    return Path(path).with_suffix(".imzML")


@pytest.fixture
def corners(tmp_path):
    return write_dataset(tmp_path / "corners.imzML", SPECTRA, CORNERS)


def edit_xml(path, old, new, occurrence=0):
    """Replace one occurrence (0-based) of ``old``, or every one when ``occurrence`` is None."""
    parts = path.read_text(encoding="latin-1").split(old)
    assert len(parts) > (1 if occurrence is None else occurrence + 1)
    if occurrence is None:
        text = new.join(parts)
    else:
        text = old.join(parts[: occurrence + 1]) + new + old.join(parts[occurrence + 1 :])
    path.write_text(text, encoding="latin-1")


def read_all(path, **kwargs):
    index = read_imzml_index(path, **kwargs)
    return index, read_peaks(index, LocalFile(find_ibd(path)))


# --- real files, pyimzML's getspectrum as the oracle ------------------------------------------


@pytest.mark.filterwarnings("ignore:Accession IMS.1000491:UserWarning")
@pytest.mark.parametrize("path", [TINY, CONTINUOUS, PROCESSED], ids=["tiny", "continuous", "processed"])
def test_real_datasets_match_pyimzml(path):
    index, (mz, ints, pixel) = read_all(path, allow_profile=True)
    parser = ImzMLParser(str(path))
    coords = np.array(parser.coordinates)[:, :2]
    xs, ys = (coords - coords.min(axis=0)).T
    np.testing.assert_array_equal(index.x, xs)
    np.testing.assert_array_equal(index.y, ys)
    assert (index.width, index.height) == (xs.max() + 1, ys.max() + 1)

    expected_mz, expected_ints, expected_pixel = [], [], []
    for i in range(len(parser.coordinates)):
        mzs, intensities = parser.getspectrum(i)
        keep = intensities > 0
        expected_mz.append(mzs[keep])
        expected_ints.append(intensities[keep].astype(np.float32))
        expected_pixel.append(np.full(keep.sum(), ys[i] * index.width + xs[i]))
    expected_mz = np.concatenate(expected_mz)
    assert mz.dtype == expected_mz.dtype
    assert len(mz) == len(expected_mz)
    assert (mz[0], mz[-1], ints[0], ints[-1]) == (
        expected_mz[0],
        expected_mz[-1],
        expected_ints[0][0],
        expected_ints[-1][-1],
    )
    np.testing.assert_array_equal(mz, expected_mz)
    np.testing.assert_array_equal(ints, np.concatenate(expected_ints))
    np.testing.assert_array_equal(pixel, np.concatenate(expected_pixel))


def test_tiny_metadata():
    index = read_imzml_index(TINY)
    assert index.n_spectra == 8
    assert (index.width, index.height) == (2, 4)
    assert index.raw_min_xy == (1, 1) and index.raw_max_xy == (2, 4)
    assert index.mz_dtype == np.float64 and index.int_dtype == np.float32
    assert index.centroided is True and index.continuous is False
    assert index.polarity is None
    assert index.uuid == "f1da2b10506649deb9a3243075247448"
    # values written in the imzML's cvParams
    assert index.tic[0] == 6806088000.0 and index.tic[-1] == 7803049000.0
    assert index.mz_range == (156.51924, 2637.547)
    assert index.mask.all() and index.mask.shape == (4, 2)
    np.testing.assert_array_equal(index.sampled_pixels, np.arange(8))


def test_continuous_example_is_profile_mode():
    with pytest.raises(ProfileModeError, match=r"Example_Continuous\.imzML.*allow_profile"):
        read_imzml_index(CONTINUOUS)
    index = read_imzml_index(CONTINUOUS, allow_profile=True)
    assert index.centroided is False and index.continuous is True
    assert index.polarity == "-"
    assert (index.mz_offsets == 16).all()


def test_continuous_mz_block_is_read_once():
    index = read_imzml_index(CONTINUOUS, allow_profile=True)
    source = RecordingSource(find_ibd(CONTINUOUS))
    read_peaks(index, source)
    # m/z block at 16, then the nine intensity arrays back to back: a single read
    n = int(index.mz_lengths[0])
    assert source.reads == [(16, 16 + 4 * n * 10)]


# --- synthetic files written with pyimzML -----------------------------------------------------


@pytest.mark.parametrize("mz_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("int_dtype", [np.float32, np.float64, np.int32, np.int64])
def test_processed_dtypes(tmp_path, mz_dtype, int_dtype):
    spectra = [(mzs, [int(v) for v in ints]) for mzs, ints in SPECTRA]
    path = write_dataset(tmp_path / "d.imzML", spectra, CORNERS, mz_dtype=mz_dtype, int_dtype=int_dtype)
    index, (mz, ints, pixel) = read_all(path)
    assert index.mz_dtype == mz_dtype and index.int_dtype == int_dtype
    assert index.continuous is False
    assert mz.dtype == mz_dtype and ints.dtype == np.float32 and pixel.dtype == np.int64
    # zeros dropped: spectrum 0 keeps peaks 0 and 2, spectrum 2 keeps none, spectrum 3 keeps two
    np.testing.assert_array_equal(mz, np.array([100.5, 300.125, 101, 201, 301, 103, 203], dtype=mz_dtype))
    np.testing.assert_array_equal(ints, [1, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(pixel, [0, 0, 2, 2, 2, 8, 8])


@pytest.mark.parametrize("mz_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("int_dtype", [np.float32, np.float64, np.int32, np.int64])
def test_continuous_dtypes(tmp_path, mz_dtype, int_dtype):
    spectra = [(SHARED_MZ, [int(v) for v in ints]) for _, ints in SPECTRA]
    path = write_dataset(
        tmp_path / "d.imzML", spectra, CORNERS, mz_dtype=mz_dtype, int_dtype=int_dtype, mode="continuous"
    )
    index, (mz, ints, pixel) = read_all(path)
    assert index.continuous is True
    assert len(set(index.mz_offsets.tolist())) == 1
    np.testing.assert_array_equal(mz, np.array([100.5, 300.125, *SHARED_MZ, 100.5, 200.25], dtype=mz_dtype))
    np.testing.assert_array_equal(ints, [1, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(pixel, [0, 0, 2, 2, 2, 8, 8])


def test_coordinates_mask_and_pixels(corners):
    index = read_imzml_index(corners)
    np.testing.assert_array_equal(index.x, [0, 2, 0, 2])
    np.testing.assert_array_equal(index.y, [0, 0, 2, 2])
    np.testing.assert_array_equal(index.pixel, [0, 2, 6, 8])
    np.testing.assert_array_equal(index.sampled_pixels, [0, 2, 6, 8])
    expected_mask = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(index.mask, expected_mask)
    assert index.n_peaks == 12


def test_metadata_tic_mz_range_and_polarity(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA, CORNERS, polarity="positive")
    index = read_imzml_index(path)
    np.testing.assert_array_equal(index.tic, [4.0, 15.0, 0.0, 15.0])
    assert index.mz_range == (100.5, 303.0)
    assert index.polarity == "+"
    assert index.centroided is True
    bare = read_imzml_index(path, spectrum_metadata=False)
    assert bare.tic is None and bare.mz_range is None
    assert bare.polarity == "+" and bare.n_peaks == index.n_peaks


def test_tic_missing_in_one_spectrum_gives_none(corners):
    edit_xml(
        corners,
        'accession="MS:1000285" name="total ion current" value="4.0"',
        'accession="MS:1000504" name="base peak m/z" value="1"',
    )
    assert read_imzml_index(corners).tic is None


@pytest.mark.parametrize("mode", ["processed", "continuous"])
def test_undeclared_storage_mode_is_inferred_from_offsets(tmp_path, mode):
    path = write_dataset(tmp_path / "d.imzML", [(SHARED_MZ, ints) for _, ints in SPECTRA], CORNERS, mode=mode)
    code = {"continuous": 30, "processed": 31}[mode]
    edit_xml(path, f'<cvParam cvRef="IMS" accession="IMS:10000{code}" name="{mode}" value=""/>', "")
    assert read_imzml_index(path).continuous is (mode == "continuous")


def test_mixed_polarity_is_undetermined(tmp_path, caplog):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA, CORNERS, polarity="positive")
    positive = '<cvParam cvRef="MS" accession="MS:1000130" name="positive scan" value=""/>'
    edit_xml(path, positive, positive + '<cvParam cvRef="MS" accession="MS:1000129" name="negative scan"/>')
    with caplog.at_level(logging.WARNING, logger="ionscape.io.imzml"):
        assert read_imzml_index(path).polarity is None
    assert "both positive and negative" in caplog.text


def test_duplicate_coordinates_share_a_pixel(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA[:3], [(1, 1), (2, 1), (1, 1)])
    index, (_, _, pixel) = read_all(path)
    np.testing.assert_array_equal(index.pixel, [0, 1, 0])
    np.testing.assert_array_equal(index.sampled_pixels, [0, 1])
    np.testing.assert_array_equal(pixel, [0, 0, 1, 1, 1])


def test_spectrum_range(corners):
    index = read_imzml_index(corners)
    source = LocalFile(find_ibd(corners))
    mz, _, pixel = read_peaks(index, source, 1, 3)
    np.testing.assert_array_equal(mz, [101, 201, 301])
    np.testing.assert_array_equal(pixel, [2, 2, 2])
    assert all(len(a) == 0 for a in read_peaks(index, source, 2, 3))
    assert all(len(a) == 0 for a in read_peaks(index, source, 4, 4))
    with pytest.raises(ValueError):
        read_peaks(index, source, 3, 5)


def test_gap_and_size_limits_split_reads(corners, monkeypatch):
    index = read_imzml_index(corners)
    # ibd layout: 16-byte UUID, then per spectrum 3 m/z (8 bytes) + 3 intensities (4 bytes) = 36 bytes
    source = RecordingSource(find_ibd(corners))
    read_peaks(index, source)
    assert source.reads == [(16, 16 + 4 * 36)]

    monkeypatch.setattr(imzml, "MAX_READ_SIZE", 70)
    source.reads.clear()
    mz, ints, _ = read_peaks(index, source)
    # a read stops taking ranges that start 70 bytes or more after its first byte
    assert source.reads == [(16, 88), (88, 160)]
    np.testing.assert_array_equal(ints, [1, 3, 4, 5, 6, 7, 8])

    monkeypatch.setattr(imzml, "MAX_READ_GAP", 0)
    only = np.array([1, 3])  # spectra 1 and 3: bytes 52-88 and 124-160
    index = replace(
        index,
        n_spectra=2,
        x=index.x[only],
        y=index.y[only],
        mz_offsets=index.mz_offsets[only],
        int_offsets=index.int_offsets[only],
        mz_lengths=index.mz_lengths[only],
        int_lengths=index.int_lengths[only],
    )
    source.reads.clear()
    mz, ints, pixel = read_peaks(index, source)
    assert source.reads == [(52, 88), (124, 160)]
    np.testing.assert_array_equal(mz, [101, 201, 301, 103, 203])
    np.testing.assert_array_equal(pixel, [2, 2, 2, 8, 8])


def test_overlapping_ranges_are_read_once(corners, monkeypatch):
    monkeypatch.setattr(imzml, "MAX_READ_GAP", 0)
    # spectrum 0: all three m/z values of spectrum 0 (bytes 16-40) with spectrum 3's intensities (148-160);
    # spectrum 1: the second m/z value of spectrum 0 (24-32) with the first intensity of spectrum 0 (40-44)
    index = replace(
        read_imzml_index(corners),
        n_spectra=2,
        x=np.array([0, 1]),
        y=np.array([0, 0]),
        mz_offsets=np.array([16, 24]),
        int_offsets=np.array([148, 40]),
        mz_lengths=np.array([3, 1]),
        int_lengths=np.array([3, 1]),
    )
    source = RecordingSource(find_ibd(corners))
    mz, ints, pixel = read_peaks(index, source)
    assert source.reads == [(16, 44), (148, 160)]
    np.testing.assert_array_equal(mz, [100.5, 200.25, 200.25])
    np.testing.assert_array_equal(ints, [7, 8, 1])
    np.testing.assert_array_equal(pixel, [0, 0, 1])


def test_index_pickles(corners):
    index = read_imzml_index(corners)
    copy = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(copy.mz_offsets, index.mz_offsets)
    np.testing.assert_array_equal(
        read_peaks(copy, LocalFile(find_ibd(corners)))[0], read_peaks(index, LocalFile(find_ibd(corners)))[0]
    )


def test_file_object_with_ibd_size(corners):
    ibd = find_ibd(corners)
    with corners.open("rb") as f:
        index = read_imzml_index(io.BytesIO(f.read()), ibd_size=ibd.stat().st_size)
    assert index.n_spectra == 4
    with pytest.raises(ValueError, match="ibd_size"):
        read_imzml_index(io.BytesIO(corners.read_bytes()))


# --- validation ---------------------------------------------------------------------------------


def test_missing_ibd(corners):
    corners.with_suffix(".ibd").unlink()
    with pytest.raises(MissingIbdError, match=r"corners\.ibd is missing"):
        read_imzml_index(corners)
    with pytest.raises(MissingIbdError, match=r"corners\.ibd is missing"):
        LocalFile(corners.with_suffix(".ibd")).size()


def test_upper_case_ibd_extension_is_found(corners):
    corners.with_suffix(".ibd").rename(corners.with_suffix(".IBD"))
    assert find_ibd(corners) == corners.with_suffix(".IBD")
    assert read_imzml_index(corners).n_spectra == 4


def test_truncated_ibd(corners):
    ibd = find_ibd(corners)
    ibd.write_bytes(ibd.read_bytes()[:150])
    # spectrum 3's intensities occupy bytes 148-160
    with pytest.raises(
        IncompleteIbdError, match=r"spectrum 3 .*148-160.*corners\.ibd has 150 bytes.*truncated"
    ):
        read_imzml_index(corners)


def test_ibd_truncated_after_indexing(corners):
    index = read_imzml_index(corners)
    ibd = find_ibd(corners)
    ibd.write_bytes(ibd.read_bytes()[:100])
    with pytest.raises(IncompleteIbdError, match="truncated"):
        read_peaks(index, LocalFile(ibd))


def test_offset_past_end(corners):
    edit_xml(corners, 'name="external offset" value="40"', 'name="external offset" value="4000"')
    with pytest.raises(IncompleteIbdError, match=r"spectrum 0 .*4000-4012"):
        read_imzml_index(corners)


def test_lengths_disagree(corners):
    # occurrences 0-1 are spectrum 0's arrays, occurrence 2 is spectrum 1's m/z array
    edit_xml(corners, 'name="external array length" value="3"', 'name="external array length" value="2"', 2)
    with pytest.raises(IncompleteIbdError, match="spectrum 1 declares 2 m/z values but 3 intensities"):
        read_imzml_index(corners)


def test_no_spectra(corners):
    text = corners.read_text(encoding="latin-1")
    start, end = text.index("<spectrum "), text.rindex("</spectrum>") + len("</spectrum>")
    corners.write_text(text[:start] + text[end:], encoding="latin-1")
    with pytest.raises(EmptyDatasetError, match="no spectra"):
        read_imzml_index(corners)


def test_all_spectra_empty(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", [([1.0], [1.0])] * 2, [(1, 1), (2, 1)])
    edit_xml(path, 'name="external array length" value="1"', 'name="external array length" value="0"', None)
    with pytest.raises(EmptyDatasetError, match="empty"):
        read_imzml_index(path)


def test_truncated_xml(corners):
    text = corners.read_text(encoding="latin-1")
    corners.write_text(text[: len(text) // 2], encoding="latin-1")
    with pytest.raises(DatasetError, match=r"corners\.imzML is not well-formed XML"):
        read_imzml_index(corners)


def test_xml_that_is_not_imzml(tmp_path):
    path = tmp_path / "notes.imzML"
    path.write_text("<?xml version='1.0'?><notes><note>hello</note></notes>")
    (tmp_path / "notes.ibd").write_bytes(b"")
    with pytest.raises(DatasetError, match="not an imzML file"):
        read_imzml_index(path)


def test_imzml_without_file_description_and_truncated(tmp_path):
    path = tmp_path / "broken.imzML"
    path.write_text('<mzML xmlns="http://psi.hupo.org/ms/mzml"><run><spectrumList count="1"><spectrum index')
    (tmp_path / "broken.ibd").write_bytes(b"")
    with pytest.raises(DatasetError, match="not well-formed XML"):
        read_imzml_index(path)


def test_spectrum_without_offset(corners):
    edit_xml(corners, '<cvParam accession="IMS:1000102" cvRef="IMS" name="external offset" value="52"/>', "")
    with pytest.raises(DatasetError, match="could not be read as imzML"):
        read_imzml_index(corners)


def test_negative_offset(corners):
    edit_xml(corners, 'name="external offset" value="16"', 'name="external offset" value="-16"')
    with pytest.raises(DatasetError, match="spectrum 0 declares an invalid m/z array"):
        read_imzml_index(corners)


def test_integer_mz_is_rejected(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA, CORNERS, mz_dtype=np.int32)
    with pytest.raises(DatasetError, match="int32 m/z values"):
        read_imzml_index(path)


def test_unsupported_array_type(corners):
    edit_xml(
        corners, 'accession="MS:1000521" name="32-bit float"', 'accession="MS:1000520" name="16-bit float"'
    )
    with pytest.raises(DatasetError, match="supported intensity array data type"):
        read_imzml_index(corners)


def test_missing_imzml(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        read_imzml_index(tmp_path / "nothing.imzML")


def test_compressed_arrays_are_rejected(corners):
    edit_xml(
        corners,
        'accession="MS:1000576" name="no compression"',
        'accession="MS:1000574" name="zlib compression"',
    )
    with pytest.raises(DatasetError, match="zlib compression"):
        read_imzml_index(corners)


def test_profile_mode_declared_by_writer(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA, CORNERS, spec_type="profile")
    with pytest.raises(ProfileModeError, match="Centroid the data first"):
        read_imzml_index(path)
    assert read_imzml_index(path, allow_profile=True).centroided is False


def test_undeclared_mode_is_not_guessed(corners):
    edit_xml(
        corners, '<cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum" value=""/>', "", None
    )
    assert read_imzml_index(corners).centroided is None


def test_bounding_box_too_large(tmp_path):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA[:2], [(1, 1), (3000, 2000)])
    with pytest.raises(DatasetTooLargeError, match="3000 × 2000"):
        read_imzml_index(path)


def test_too_many_spectra(corners, monkeypatch):
    monkeypatch.setattr(imzml, "MAX_SPECTRA", 3)
    with pytest.raises(DatasetTooLargeError, match="4 spectra"):
        read_imzml_index(corners)


def test_sparse_dataset_warns(tmp_path, caplog):
    path = write_dataset(tmp_path / "d.imzML", SPECTRA[:2], [(1, 1), (10, 10)])
    with caplog.at_level(logging.WARNING, logger="ionscape.io.imzml"):
        index = read_imzml_index(path)
    assert index.n_spectra == 2
    assert "2 spectra in a 10 × 10 bounding box" in caplog.text


def test_ibd_from_another_export_warns(tmp_path, caplog):
    first = write_dataset(tmp_path / "a.imzML", SPECTRA, CORNERS)
    second = write_dataset(tmp_path / "b.imzML", SPECTRA, CORNERS)
    with caplog.at_level(logging.WARNING, logger="ionscape.io.imzml"):
        index = read_imzml_index(first)
        assert caplog.text == ""
        check_ibd_uuid(index, LocalFile(find_ibd(second)))
    assert "different exports" in caplog.text


def test_uuid_in_guid_byte_order_is_accepted(corners, caplog):
    ibd = find_ibd(corners)
    data = ibd.read_bytes()
    ibd.write_bytes(uuid.UUID(bytes=data[:16]).bytes_le + data[16:])
    with caplog.at_level(logging.WARNING, logger="ionscape.io.imzml"):
        read_imzml_index(corners)
    assert caplog.text == ""


def test_invalid_uuid_is_ignored(corners, caplog):
    text = corners.read_text(encoding="latin-1")
    declared = text.split('name="universally unique identifier" value="')[1].split('"')[0]
    edit_xml(corners, declared, "not-a-uuid")
    with caplog.at_level(logging.WARNING, logger="ionscape.io.imzml"):
        index = read_imzml_index(corners)
    assert index.uuid is None and caplog.text == ""


class RecordingSource(LocalFile):
    """A local file that records the byte ranges read from it."""

    def __init__(self, path):
        super().__init__(path)
        self.reads = []

    def read_into(self, offset, out):
        self.reads.append((offset, offset + len(out)))
        return super().read_into(offset, out)
