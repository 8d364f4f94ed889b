"""Reading imzML datasets (ALGORITHM.md §1.1, §7.2 load_ds).

The XML part is parsed with pyimzML into a small, picklable :class:`ImzMLIndex` (coordinates,
byte offsets, data types, file-level metadata), validated against the size of the ``.ibd`` file.
The binary part is read by :func:`read_peaks` with a few large byte-range reads from any
:class:`ByteSource` (a local file, or an object in cloud storage) and gathered by compiled
(numba) copy loops.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol
from xml.etree.ElementTree import ParseError, iterparse

import numba
import numpy as np

from ionscape.errors import (
    DatasetError,
    DatasetTooLargeError,
    EmptyDatasetError,
    IncompleteIbdError,
    MissingIbdError,
    ProfileModeError,
)

logger = logging.getLogger(__name__)

MAX_SPECTRA = 2_000_000
MAX_BOUNDING_BOX_PIXELS = 4_500_000
MIN_SAMPLED_FRACTION = 0.05
MAX_READ_GAP = 64 * 2**10
MAX_READ_SIZE = 256 * 2**20

_MZML_ROOT = "{http://psi.hupo.org/ms/mzml}mzML"
_SPECTRUM_TAG = "{http://psi.hupo.org/ms/mzml}spectrum"
_TIC, _LOWEST_MZ, _HIGHEST_MZ = "MS:1000285", "MS:1000528", "MS:1000527"
_CENTROID, _PROFILE = "MS:1000127", "MS:1000128"
_CONTINUOUS, _PROCESSED = "IMS:1000030", "IMS:1000031"
_UUID = "IMS:1000080"
# pyimzML's type codes of the binary arrays → numpy dtypes (imzML binary data is little-endian)
_DTYPES = {
    "f": np.dtype(np.float32),
    "d": np.dtype(np.float64),
    "i": np.dtype(np.int32),
    "l": np.dtype(np.int64),
}
_POLARITIES = {"positive": "+", "negative": "-"}


class ByteSource(Protocol):
    """Where the ``.ibd`` bytes come from: a local file, or an object in cloud storage."""

    def size(self) -> int:
        """Total number of bytes."""
        ...

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes starting at byte ``offset`` (fewer only at the end of the data)."""
        ...

    def read_into(self, offset: int, out: np.ndarray) -> int:
        """Fill the uint8 array ``out`` from byte ``offset``; returns the bytes read (fewer at the end)."""
        ...


class LocalFile:
    """A :class:`ByteSource` for a file on the local disk (picklable: holds only the path)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"LocalFile({str(self.path)!r})"

    def size(self) -> int:
        """File size in bytes; raises :class:`MissingIbdError` when the file is not there."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError as exc:
            raise MissingIbdError(f"{self.path} is missing") from exc

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from byte ``offset``."""
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def read_into(self, offset: int, out: np.ndarray) -> int:
        """Fill the uint8 array ``out`` from byte ``offset`` without an intermediate copy."""
        with self.path.open("rb", buffering=0) as f:
            f.seek(offset)
            view = memoryview(out).cast("B")
            filled = 0
            while filled < len(view):
                n = f.readinto(view[filled:])
                if not n:
                    break
                filled += n
            return filled


@dataclass(eq=False)
class ImzMLIndex:
    """Everything needed to read the peaks of an imzML dataset; small enough to ship to workers.

    Per-spectrum arrays have shape (n_spectra,) and follow the spectrum order of the imzML file.
    Coordinates are 0-based: the per-axis minimum of the file's (1-based, usually) x and y has been
    subtracted; z is ignored. Byte offsets point into the ``.ibd`` file, lengths count elements.
    """

    imzml_name: str
    ibd_name: str
    n_spectra: int
    x: np.ndarray
    y: np.ndarray
    raw_min_xy: tuple[int, int]
    raw_max_xy: tuple[int, int]
    width: int
    height: int
    mz_dtype: np.dtype
    int_dtype: np.dtype
    mz_offsets: np.ndarray
    mz_lengths: np.ndarray
    int_offsets: np.ndarray
    int_lengths: np.ndarray
    continuous: bool
    centroided: bool | None
    tic: np.ndarray | None
    polarity: str | None
    mz_range: tuple[float, float] | None
    uuid: str | None

    @property
    def pixel(self) -> np.ndarray:
        """(n_spectra,) int64 pixel index p = y·width + x of each spectrum."""
        return self.y * self.width + self.x

    @property
    def mask(self) -> np.ndarray:
        """(height, width) bool sample-area mask: True where at least one spectrum exists."""
        mask = np.zeros(self.height * self.width, dtype=bool)
        mask[self.pixel] = True
        return mask.reshape(self.height, self.width)

    @property
    def sampled_pixels(self) -> np.ndarray:
        """(n_pixels,) int64 sorted distinct pixel indices with a spectrum (duplicates collapse)."""
        return np.unique(self.pixel)

    @property
    def n_peaks(self) -> int:
        """Number of peaks declared in the imzML, zero intensities included."""
        return int(self.mz_lengths.sum())


def find_ibd(imzml_path: str | os.PathLike[str]) -> Path:
    """The ``.ibd`` file next to an ``.imzML`` file: same stem, extension in any letter case.

    Raises :class:`MissingIbdError` when there is none.
    """
    imzml_path = Path(imzml_path)
    exact = imzml_path.with_suffix(".ibd")
    if exact.is_file():
        return exact
    folder = imzml_path.parent
    if folder.is_dir():
        for candidate in sorted(folder.iterdir()):
            if (
                candidate.stem == imzml_path.stem
                and candidate.suffix.lower() == ".ibd"
                and candidate.is_file()
            ):
                return candidate
    raise MissingIbdError(
        f"{exact.name} is missing (looked next to {imzml_path.name} in {folder}): an imzML dataset is a pair "
        "of files with the same name, .imzML (metadata) and .ibd (binary data); copy the .ibd there too"
    )


def read_imzml_index(
    imzml_path: str | os.PathLike[str] | IO[bytes],
    ibd_size: int | None = None,
    *,
    allow_profile: bool = False,
    spectrum_metadata: bool = True,
    processes: int = 1,
) -> ImzMLIndex:
    """Parse and validate an imzML file.

    Parameters
    ----------
    imzml_path : path or binary file object of the ``.imzML`` file
    ibd_size : size of the ``.ibd`` file in bytes. ``None``: find the ``.ibd`` next to a local
        ``.imzML`` (:func:`find_ibd`), take its size, and warn if its UUID does not match.
        Required when ``imzml_path`` is a file object.
    allow_profile : annotate profile-mode data instead of raising :class:`ProfileModeError`.
    spectrum_metadata : read each spectrum's TIC and m/z range (``tic``, ``mz_range``); without
        them pyimzML parses about a third faster, and both are None.
    processes : without ``spectrum_metadata``, let pyimzML parse a large local imzML in pieces
        on this many processes (:mod:`ionscape.io.xml_pieces`); the index is the same.

    Raises
    ------
    DatasetError and subclasses, with the file name and the offending spectrum in the message.
    """
    xml: Path | IO[bytes]
    if hasattr(imzml_path, "read"):
        if ibd_size is None:
            raise ValueError("ibd_size is required when the imzML is given as a file object")
        xml = imzml_path
        imzml_name = str(getattr(imzml_path, "name", "<imzML stream>"))
    else:
        xml = Path(imzml_path)
        if not xml.is_file():
            raise DatasetError(f"imzML file {xml} does not exist")
        imzml_name = xml.name
    ibd_name = Path(imzml_name).with_suffix(".ibd").name
    local_ibd = None
    if ibd_size is None:
        local_ibd = LocalFile(find_ibd(xml))
        ibd_size, ibd_name = local_ibd.size(), local_ibd.path.name

    parsed = _parse_xml(xml, imzml_name, spectrum_metadata, processes)
    index = _build_index(parsed, imzml_name, ibd_name)
    _check_mode(index, allow_profile)
    _check_size_limits(index)
    _check_byte_ranges(index, ibd_size)
    if local_ibd is not None:
        check_ibd_uuid(index, local_ibd)
    return index


def check_ibd_uuid(index: ImzMLIndex, source: ByteSource) -> None:
    """Log a warning when the ``.ibd`` does not start with the UUID the imzML declares.

    A mismatch usually means the two files come from different exports.
    """
    if index.uuid is None:
        return
    head = source.read(0, 16).hex()
    if head != index.uuid and head != _guid_bytes_le(index.uuid):
        logger.warning(
            "%s starts with UUID %s but %s declares %s: the two files may come from different exports",
            index.ibd_name,
            head,
            index.imzml_name,
            index.uuid,
        )


def read_peaks(
    index: ImzMLIndex, source: ByteSource, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the peaks of spectra ``[start, stop)``, concatenated in spectrum order.

    Byte ranges closer than 64 KiB are merged into one read (a read stops growing past 256 MiB),
    so a continuous file's shared m/z array is fetched once.

    Returns
    -------
    mz : (n_peaks,) float32 or float64, the declared m/z precision (never converted)
    ints : (n_peaks,) float32 intensities
    pixel : (n_peaks,) int64 pixel index p = y·width + x of each peak's spectrum

    Peaks with intensity <= 0 (or NaN) are dropped.
    """
    stop = index.n_spectra if stop is None else stop
    if not 0 <= start <= stop <= index.n_spectra:
        raise ValueError(f"spectrum range [{start}, {stop}) outside [0, {index.n_spectra})")
    span = slice(start, stop)
    lengths = index.mz_lengths[span]
    byte_starts = np.concatenate([index.mz_offsets[span], index.int_offsets[span]])
    byte_lengths = np.concatenate([lengths * index.mz_dtype.itemsize, lengths * index.int_dtype.itemsize])
    blob, positions = _fetch(source, byte_starts, byte_lengths, index.ibd_name)
    mz_pos, int_pos = np.split(positions, 2)
    mz = _gather(blob, mz_pos, lengths, index.mz_dtype)
    ints = _gather(blob, int_pos, lengths, index.int_dtype)
    del blob
    ints = ints.astype(np.float32, copy=False)
    pixel = np.empty(len(mz), dtype=np.int64)
    kept = _keep_positive(mz, ints, pixel, lengths, index.pixel[span])
    return mz[:kept], ints[:kept], pixel[:kept]


# --- XML parsing --------------------------------------------------------------------------------


def _parse_xml(imzml: Path | IO[bytes], name: str, spectrum_metadata: bool, processes: int = 1) -> Any:
    """Run pyimzML's parser (no .ibd attached), in pieces on ``processes`` cores where it can
    (:mod:`ionscape.io.xml_pieces`; not with ``spectrum_metadata``), and turn its failures
    into :class:`DatasetError`."""
    from pyimzml.ImzMLParser import ImzMLParser

    from ionscape.io.xml_pieces import parse_in_pieces

    fields = [_TIC, _LOWEST_MZ, _HIGHEST_MZ] if spectrum_metadata else None

    def parse(source: str | IO[bytes]) -> Any:
        return ImzMLParser(source, parse_lib="ElementTree", ibd_file=None, include_spectra_metadata=fields)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if processes > 1 and fields is None and isinstance(imzml, Path):
                xml = imzml.read_bytes()  # the whole file is parsed from these bytes when pieces fail
                parser = parse_in_pieces(xml, parse, processes) or parse(io.BytesIO(xml))
            else:
                parser = parse(str(imzml) if isinstance(imzml, Path) else imzml)
    except ParseError as exc:
        raise DatasetError(f"{name} is not well-formed XML ({exc}); the file may be truncated") from exc
    except Exception as exc:
        _diagnose_unparsable(imzml, name)
        raise DatasetError(f"{name} could not be read as imzML: {type(exc).__name__}: {exc}") from exc
    for warning in caught:
        logger.debug("pyimzML on %s: %s", name, warning.message)
    _require_mzml_root(parser.root.tag, name)
    return parser


def _diagnose_unparsable(imzml: Path | IO[bytes], name: str) -> None:
    """Raise a precise error for a file pyimzML failed on (malformed, not imzML, no spectra), else return."""
    if isinstance(imzml, Path):
        with imzml.open("rb") as f:
            _diagnose_unparsable(f, name)
        return
    imzml.seek(0)
    try:
        events = iterparse(imzml, events=("start", "end"))
        _, root = next(events)
        _require_mzml_root(root.tag, name)
        for event, elem in events:
            if event == "end" and elem.tag == _SPECTRUM_TAG:
                return
            if event == "end":
                elem.clear()
    except ParseError as exc:
        raise DatasetError(f"{name} is not well-formed XML ({exc}); the file may be truncated") from exc
    raise EmptyDatasetError(f"{name} contains no spectra")


def _require_mzml_root(tag: str, name: str) -> None:
    if tag != _MZML_ROOT:
        raise DatasetError(f"{name} is not an imzML file: its root element is <{tag}>, not <mzML>")


def _build_index(parser: Any, imzml_name: str, ibd_name: str) -> ImzMLIndex:
    n = len(parser.coordinates)
    if n == 0:
        raise EmptyDatasetError(f"{imzml_name} contains no spectra")
    mz_dtype = _array_dtype(parser.mzPrecision, "m/z", imzml_name)
    int_dtype = _array_dtype(parser.intensityPrecision, "intensity", imzml_name)
    if mz_dtype.kind != "f":
        raise DatasetError(
            f"{imzml_name} declares {mz_dtype} m/z values; only 32/64-bit floats are supported"
        )
    _check_uncompressed(parser.metadata.referenceable_param_groups, imzml_name)

    coords = np.asarray(parser.coordinates, dtype=np.int64)[:, :2]
    raw_min, raw_max = coords.min(axis=0), coords.max(axis=0)
    x, y = (coords - raw_min).T
    mz_offsets = np.asarray(parser.mzOffsets, dtype=np.int64)
    file_content = parser.metadata.file_description.param_by_accession
    fields = getattr(parser, "spectrum_metadata_fields", {})  # absent unless metadata was asked for
    lowest, highest = _all_or_none(fields.get(_LOWEST_MZ)), _all_or_none(fields.get(_HIGHEST_MZ))
    return ImzMLIndex(
        imzml_name=imzml_name,
        ibd_name=ibd_name,
        n_spectra=n,
        x=np.ascontiguousarray(x),
        y=np.ascontiguousarray(y),
        raw_min_xy=(int(raw_min[0]), int(raw_min[1])),
        raw_max_xy=(int(raw_max[0]), int(raw_max[1])),
        width=int(x.max()) + 1,
        height=int(y.max()) + 1,
        mz_dtype=mz_dtype,
        int_dtype=int_dtype,
        mz_offsets=mz_offsets,
        mz_lengths=np.asarray(parser.mzLengths, dtype=np.int64),
        int_offsets=np.asarray(parser.intensityOffsets, dtype=np.int64),
        int_lengths=np.asarray(parser.intensityLengths, dtype=np.int64),
        continuous=_is_continuous(file_content, mz_offsets),
        centroided=_declared_centroided(file_content, parser.spectrum_mode),
        tic=_all_or_none(fields.get(_TIC)),
        polarity=_polarity(parser.polarity, imzml_name),
        mz_range=None if lowest is None or highest is None else (float(lowest.min()), float(highest.max())),
        uuid=_normalise_uuid(file_content.get(_UUID)),
    )


def _array_dtype(code: str | None, what: str, name: str) -> np.dtype:
    if code not in _DTYPES:
        raise DatasetError(
            f"{name} does not declare a supported {what} array data type "
            "(32-bit float, 64-bit float, 32-bit integer or 64-bit integer)"
        )
    return _DTYPES[code]


def _check_uncompressed(param_groups: dict[str, Any], name: str) -> None:
    for group_id, group in param_groups.items():
        compressions = [
            p for p in group.param_by_name if str(p).endswith("compression") and p != "no compression"
        ]
        if compressions:
            raise DatasetError(
                f"{name}: the binary arrays of parameter group {group_id!r} use {compressions[0]}, which is "
                "not supported; export the imzML without compression"
            )


def _all_or_none(values: list[Any] | None) -> np.ndarray | None:
    """float64 array of per-spectrum metadata values, or None unless every spectrum has one."""
    if values is None or any(v is None for v in values):
        return None
    return np.asarray(values, dtype=np.float64)


def _is_continuous(file_content: dict[str, Any], mz_offsets: np.ndarray) -> bool:
    """As declared (IMS:1000030 / IMS:1000031); undeclared: whether all spectra share one m/z array."""
    if _CONTINUOUS in file_content:
        return True
    if _PROCESSED in file_content:
        return False
    return bool((mz_offsets == mz_offsets[0]).all())


def _declared_centroided(file_content: dict[str, Any], spectrum_mode: str | None) -> bool | None:
    """Spectrum representation as declared in fileContent, parameter groups or the first spectrum.

    Profile wins when both are declared; None when the file says nothing.
    """
    if _PROFILE in file_content or spectrum_mode == "profile":
        return False
    if _CENTROID in file_content or spectrum_mode == "centroid":
        return True
    return None


def _polarity(declared: str | None, name: str) -> str | None:
    if declared == "mixed":
        logger.warning("%s declares both positive and negative scans; polarity left undetermined", name)
    return _POLARITIES.get(declared or "")


def _normalise_uuid(value: Any) -> str | None:
    """32 lowercase hex digits, or None when absent or not a UUID."""
    if not isinstance(value, str):
        return None
    digits = value.strip().strip("{}").replace("-", "").lower()
    if len(digits) != 32 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits


def _guid_bytes_le(uuid_hex: str) -> str:
    """The same UUID in Microsoft GUID byte order (first three fields little-endian)."""
    raw = bytes.fromhex(uuid_hex)
    return (raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]).hex()


# --- validation ---------------------------------------------------------------------------------


def _check_mode(index: ImzMLIndex, allow_profile: bool) -> None:
    if index.centroided is False and not allow_profile:
        raise ProfileModeError(
            f"{index.imzml_name} holds profile-mode spectra, but annotation needs centroided peaks. "
            "Centroid the data first (peak picking in the vendor software or in your imzML converter), "
            "or pass allow_profile=True (--allow-profile) to annotate it anyway"
        )


def _check_size_limits(index: ImzMLIndex) -> None:
    box = index.width * index.height
    (x_min, y_min), (x_max, y_max) = index.raw_min_xy, index.raw_max_xy
    if index.n_spectra > MAX_SPECTRA:
        raise DatasetTooLargeError(
            f"{index.imzml_name} has {index.n_spectra:,} spectra; the limit is {MAX_SPECTRA:,}"
        )
    if box > MAX_BOUNDING_BOX_PIXELS:
        raise DatasetTooLargeError(
            f"{index.imzml_name} spans {index.width} × {index.height} = {box:,} pixels "
            f"(x {x_min}–{x_max}, y {y_min}–{y_max}); "
            f"the limit is {MAX_BOUNDING_BOX_PIXELS:,}"
        )
    if index.n_spectra < MIN_SAMPLED_FRACTION * box:
        logger.warning(
            "%s: only %d spectra in a %d × %d bounding box (%.1f%%); the coordinates may be sparse or wrong",
            index.imzml_name,
            index.n_spectra,
            index.width,
            index.height,
            100 * index.n_spectra / box,
        )


def _check_byte_ranges(index: ImzMLIndex, ibd_size: int) -> None:
    """Lengths agree, offsets are non-negative, and every array lies inside the .ibd."""
    bad = np.flatnonzero(index.mz_lengths != index.int_lengths)
    if bad.size:
        i = int(bad[0])
        raise IncompleteIbdError(
            f"{index.imzml_name}: spectrum {i} declares {index.mz_lengths[i]} m/z values but "
            f"{index.int_lengths[i]} intensities ({bad.size} spectra disagree)"
        )
    if index.n_peaks == 0:
        raise EmptyDatasetError(f"all {index.n_spectra} spectra of {index.imzml_name} are empty")
    arrays = (
        ("m/z", index.mz_offsets, index.mz_lengths, index.mz_dtype.itemsize),
        ("intensity", index.int_offsets, index.int_lengths, index.int_dtype.itemsize),
    )
    for what, offsets, lengths, itemsize in arrays:
        ends = offsets + lengths * itemsize
        bad = np.flatnonzero((lengths < 0) | (offsets < 0))
        if bad.size:
            i = int(bad[0])
            raise DatasetError(
                f"{index.imzml_name}: spectrum {i} declares an invalid {what} array "
                f"(offset {offsets[i]}, length {lengths[i]})"
            )
        bad = np.flatnonzero((lengths > 0) & (ends > ibd_size))
        if bad.size:
            i = int(bad[0])
            raise IncompleteIbdError(
                f"spectrum {i} of {index.imzml_name} points at bytes {offsets[i]}-{ends[i]} ({what} array) "
                f"but {index.ibd_name} has {ibd_size} bytes — the file looks truncated "
                f"({bad.size} spectra affected)"
            )


# --- binary reading -----------------------------------------------------------------------------


def _fetch(
    source: ByteSource, starts: np.ndarray, lengths: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Read byte ranges with few large reads.

    Returns the bytes of the merged reads laid end to end (uint8) and, for each requested range,
    its position in that buffer (0 for empty ranges).
    """
    positions = np.zeros(len(starts), dtype=np.int64)
    wanted = np.flatnonzero(lengths > 0)
    if wanted.size == 0:
        return np.empty(0, dtype=np.uint8), positions
    wanted = wanted[np.argsort(starts[wanted], kind="stable")]
    lo, hi = starts[wanted], starts[wanted] + lengths[wanted]

    reach = np.maximum.accumulate(hi)
    new_read = np.ones(len(lo), dtype=bool)
    new_read[1:] = lo[1:] > reach[:-1] + MAX_READ_GAP
    group_start = lo[new_read][np.cumsum(new_read) - 1]
    block = (lo - group_start) // MAX_READ_SIZE
    new_read[1:] |= block[1:] != block[:-1]

    first = np.flatnonzero(new_read)
    read_of_range = np.cumsum(new_read) - 1
    read_lo = lo[first]
    read_len = np.maximum.reduceat(hi, first) - read_lo
    read_pos = np.concatenate([[0], np.cumsum(read_len)[:-1]])

    blob = np.empty(int(read_len.sum()), dtype=np.uint8)
    for offset, length, pos in zip(read_lo.tolist(), read_len.tolist(), read_pos.tolist(), strict=True):
        got = source.read_into(offset, blob[pos : pos + length])
        if got != length:
            raise IncompleteIbdError(
                f"reading bytes {offset}-{offset + length} of {name} returned only {got} bytes "
                "— the file looks truncated"
            )
    positions[wanted] = read_pos[read_of_range] + (lo - read_lo[read_of_range])
    return blob, positions


def _gather(blob: np.ndarray, positions: np.ndarray, lengths: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Concatenate the little-endian arrays of ``lengths`` values of ``dtype`` at byte ``positions``
    of ``blob`` (at any byte alignment), as one native array."""
    itemsize = dtype.itemsize
    out = np.empty(int(lengths.sum()) * itemsize, dtype=np.uint8)
    _copy_ranges(blob, positions, lengths * itemsize, out)
    return out.view(dtype.newbyteorder("<")).astype(dtype.newbyteorder("="), copy=False)


@numba.njit(cache=True, nogil=True)
def _copy_ranges(blob: np.ndarray, positions: np.ndarray, n_bytes: np.ndarray, out: np.ndarray) -> None:
    """Copy ``blob[positions[i]:positions[i] + n_bytes[i]]`` for every i, end to end, into ``out``."""
    filled = 0
    for i in range(len(positions)):
        n = n_bytes[i]
        out[filled : filled + n] = blob[positions[i] : positions[i] + n]
        filled += n


@numba.njit(cache=True, nogil=True)
def _keep_positive(
    mz: np.ndarray, ints: np.ndarray, pixel: np.ndarray, lengths: np.ndarray, spectrum_pixel: np.ndarray
) -> int:
    """Move the peaks with intensity > 0 to the front of ``mz`` and ``ints`` (in order), write
    each one's spectrum pixel to ``pixel``; returns how many were kept."""
    kept = 0
    peak = 0
    for spectrum in range(len(lengths)):
        p = spectrum_pixel[spectrum]
        for _ in range(lengths[spectrum]):
            if ints[peak] > 0:
                mz[kept] = mz[peak]
                ints[kept] = ints[peak]
                pixel[kept] = p
                kept += 1
            peak += 1
    return kept
