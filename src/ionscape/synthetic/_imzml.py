"""Streaming imzML writer: many spectra per call, the XML and the .ibd written as they come.

The ``.ibd`` starts with the dataset's UUID, then each block of spectra as its m/z arrays followed
by its intensity arrays (processed mode), or a shared m/z axis followed by intensity arrays
(continuous mode). The per-spectrum XML of a block is formatted with vectorised string operations.
The SHA-1 of the ``.ibd`` is computed on the fly and patched into the header at the end, so
nothing is held in memory beyond the current block.
"""

from __future__ import annotations

import hashlib
import string
import uuid as uuid_module
from pathlib import Path
from types import TracebackType

import numpy as np
from numpy.dtypes import StringDType

import ionscape

MZ_DTYPE = np.dtype("<f8")
INT_DTYPE = np.dtype("<f4")
_SHA1_PLACEHOLDER = "0" * 40
_ANALYZERS = {
    "Orbitrap": (("MS:1000484", "orbitrap"), ("MS:1000624", "inductive detector")),
    "FTICR": (
        ("MS:1000079", "fourier transform ion cyclotron resonance mass spectrometer"),
        ("MS:1000624", "inductive detector"),
    ),
    "TOF": (("MS:1000084", "time-of-flight"), ("MS:1000114", "microchannel plate detector")),
}
_MZ_UNIT = ' unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"'


def _cv(accession: str, name: str, value: str = "", extra: str = "") -> str:
    """One cvParam element."""
    ref = accession.split(":")[0]
    return f'<cvParam cvRef="{ref}" accession="{accession}" name="{name}" value="{value}"{extra}/>'


def _array_group(group_id: str, kind: tuple[str, str], dtype: tuple[str, str], unit: str) -> str:
    params = [_cv(*kind, extra=unit), _cv(*dtype), _cv("MS:1000576", "no compression")]
    params.append(_cv("IMS:1000101", "external data", "true"))
    return f'<referenceableParamGroup id="{group_id}">' + "".join(params) + "</referenceableParamGroup>"


def _external_array(group_id: str, field: str) -> str:
    return (
        f'<binaryDataArray encodedLength="0"><referenceableParamGroupRef ref="{group_id}"/>'
        + _cv("IMS:1000103", "external array length", "{length}")
        + _cv("IMS:1000104", "external encoded length", f"{{{field}_bytes}}")
        + _cv("IMS:1000102", "external offset", f"{{{field}_offset}}")
        + "<binary/></binaryDataArray>"
    )


_MZ_GROUP = _array_group("mzArray", ("MS:1000514", "m/z array"), ("MS:1000523", "64-bit float"), _MZ_UNIT)
_INT_GROUP = _array_group(
    "intensityArray",
    ("MS:1000515", "intensity array"),
    ("MS:1000521", "32-bit float"),
    ' unitCvRef="MS" unitAccession="MS:1000131" unitName="number of detector counts"',
)
_SPECTRUM = (
    '<spectrum id="spectrum={number}" defaultArrayLength="{length}" index="{index}">\n'
    '  <referenceableParamGroupRef ref="spectrum"/>\n'
    + "  "
    + _cv("MS:1000285", "total ion current", "{tic}")
    + "\n  "
    + _cv("MS:1000528", "lowest observed m/z", "{lowest}", _MZ_UNIT)
    + "\n  "
    + _cv("MS:1000527", "highest observed m/z", "{highest}", _MZ_UNIT)
    + '\n  <scanList count="1">'
    + _cv("MS:1000795", "no combination")
    + '<scan instrumentConfigurationRef="IC1">'
    + _cv("IMS:1000050", "position x", "{x}")
    + _cv("IMS:1000051", "position y", "{y}")
    + "</scan></scanList>\n"
    + '  <binaryDataArrayList count="2">\n    '
    + _external_array("mzArray", "mz")
    + "\n    "
    + _external_array("intensityArray", "int")
    + "\n  </binaryDataArrayList>\n</spectrum>\n"
)
_SPECTRUM_PARTS = [(literal, field) for literal, field, _, _ in string.Formatter().parse(_SPECTRUM)]


def _header(
    *,
    n_spectra: int,
    width: int,
    height: int,
    polarity: str,
    continuous: bool,
    uuid: uuid_module.UUID,
    analyzer: str,
    pixel_size_um: float,
) -> str:
    storage = _cv("IMS:1000030", "continuous") if continuous else _cv("IMS:1000031", "processed")
    scan = _cv("MS:1000130", "positive scan") if polarity == "+" else _cv("MS:1000129", "negative scan")
    analyzer_cv, detector_cv = _ANALYZERS[analyzer]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<mzML xmlns="http://psi.hupo.org/ms/mzml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://psi.hupo.org/ms/mzml http://psidev.info/files/ms/mzML/xsd/mzML1.1.0.xsd" \
version="1.1">
<cvList count="3">
  <cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.0" \
URI="https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"/>
  <cv id="UO" fullName="Unit Ontology" version="releases/2020-03-10" \
URI="http://ontologies.berkeleybop.org/uo.obo"/>
  <cv id="IMS" fullName="Mass Spectrometry Imaging Ontology" version="1.1.0" \
URI="https://raw.githubusercontent.com/imzML/imzML/master/imagingMS.obo"/>
</cvList>
<fileDescription>
  <fileContent>
    {_cv("MS:1000579", "MS1 spectrum")}
    {_cv("MS:1000127", "centroid spectrum")}
    {storage}
    {_cv("IMS:1000080", "universally unique identifier", "{" + str(uuid).upper() + "}")}
    {_cv("IMS:1000091", "ibd SHA-1", _SHA1_PLACEHOLDER)}
  </fileContent>
</fileDescription>
<referenceableParamGroupList count="3">
  {_MZ_GROUP}
  {_INT_GROUP}
  <referenceableParamGroup id="spectrum">
    {_cv("MS:1000579", "MS1 spectrum")}{_cv("MS:1000511", "ms level", "1")}
    {_cv("MS:1000127", "centroid spectrum")}{scan}
  </referenceableParamGroup>
</referenceableParamGroupList>
<softwareList count="1">
  <software id="ionscape" version="{ionscape.__version__}">
    {_cv("MS:1000799", "custom unreleased software tool", "ionscape synth")}
  </software>
</softwareList>
<scanSettingsList count="1">
  <scanSettings id="scanSettings1">
    {_cv("IMS:1000401", "top down")}{_cv("IMS:1000413", "flyback")}
    {_cv("IMS:1000480", "horizontal line scan")}{_cv("IMS:1000491", "linescan left right")}
    {_cv("IMS:1000042", "max count of pixels x", str(width))}
    {_cv("IMS:1000043", "max count of pixels y", str(height))}
    {_cv("IMS:1000046", "pixel size (x)", repr(pixel_size_um))}
    {_cv("IMS:1000047", "pixel size y", repr(pixel_size_um))}
  </scanSettings>
</scanSettingsList>
<instrumentConfigurationList count="1">
  <instrumentConfiguration id="IC1">
    <componentList count="3">
      <source order="1">{_cv("MS:1000075", "matrix-assisted laser desorption ionization")}</source>
      <analyzer order="2">{_cv(*analyzer_cv)}</analyzer>
      <detector order="3">{_cv(*detector_cv)}</detector>
    </componentList>
    <softwareRef ref="ionscape"/>
  </instrumentConfiguration>
</instrumentConfigurationList>
<dataProcessingList count="1">
  <dataProcessing id="synthesis">
    <processingMethod order="1" softwareRef="ionscape">{_cv("MS:1000035", "peak picking")}</processingMethod>
  </dataProcessing>
</dataProcessingList>
<run defaultInstrumentConfigurationRef="IC1" id="synthetic">
<spectrumList count="{n_spectra}" defaultDataProcessingRef="synthesis">
"""


_TRAILER = "</spectrumList>\n</run>\n</mzML>\n"


class ImzMLStreamWriter:
    """Write ``imzml_path`` and the ``.ibd`` next to it, a block of spectra at a time.

    Use as a context manager: on an exception both files are removed. Spectra are written in the
    order they are given; ``n_spectra`` must match the number written.
    """

    def __init__(
        self,
        imzml_path: str | Path,
        *,
        n_spectra: int,
        width: int,
        height: int,
        polarity: str,
        continuous: bool,
        uuid: uuid_module.UUID,
        analyzer: str = "Orbitrap",
        pixel_size_um: float = 10.0,
    ) -> None:
        self.imzml_path = Path(imzml_path)
        self.ibd_path = self.imzml_path.with_suffix(".ibd")
        self.n_spectra = n_spectra
        self.uuid = uuid
        self.continuous = continuous
        self.sha1 = hashlib.sha1()
        self.n_written = 0
        self.n_peaks = 0
        self._axis: tuple[int, int, float, float] | None = None  # offset, length, lowest, highest
        header = _header(
            n_spectra=n_spectra,
            width=width,
            height=height,
            polarity=polarity,
            continuous=continuous,
            uuid=uuid,
            analyzer=analyzer,
            pixel_size_um=pixel_size_um,
        )
        self._sha1_position = header.index(_SHA1_PLACEHOLDER)
        self._xml = self.imzml_path.open("wb")
        self._ibd = self.ibd_path.open("wb")
        self._xml.write(header.encode("ascii"))
        self._ibd_size = 0
        self._write_binary(np.frombuffer(uuid.bytes, dtype=np.uint8))

    def __enter__(self) -> ImzMLStreamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()

    @property
    def ibd_bytes(self) -> int:
        """Bytes written to the ``.ibd`` so far."""
        return self._ibd_size

    def write_axis(self, mz: np.ndarray) -> None:
        """Continuous mode: the m/z axis shared by all spectra (once, before any spectrum)."""
        if not self.continuous or self._axis is not None or self.n_written:
            raise ValueError("write_axis is for continuous mode, once, before the spectra")
        offset = self._ibd_size
        self._write_binary(np.ascontiguousarray(mz, dtype=MZ_DTYPE))
        self._axis = (offset, len(mz), float(mz[0]), float(mz[-1]))

    def write_spectra(
        self, x: np.ndarray, y: np.ndarray, lengths: np.ndarray, mz: np.ndarray | None, ints: np.ndarray
    ) -> None:
        """Append spectra at 1-based pixel coordinates ``x``, ``y``.

        Spectrum i has ``lengths[i]`` peaks; ``mz`` and ``ints`` hold all peaks, spectrum after
        spectrum, each spectrum sorted by m/z. Continuous mode: ``mz`` is None and every spectrum
        has the axis length.
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        ends = np.cumsum(lengths)
        starts = ends - lengths
        base = self._ibd_size
        if self.continuous:
            if self._axis is None or mz is not None or np.any(lengths != self._axis[1]):
                raise ValueError("continuous spectra need write_axis first, no m/z and the axis length")
            axis_offset, _, lowest, highest = self._axis
            mz_offset = np.full(len(lengths), axis_offset)
            lowest_mz, highest_mz = np.full(len(lengths), lowest), np.full(len(lengths), highest)
            int_base = base
        else:
            if mz is None or len(mz) != len(ints):
                raise ValueError("processed spectra need m/z and intensity arrays of the same length")
            mz_offset = base + starts * MZ_DTYPE.itemsize
            lowest_mz, highest_mz = mz[starts], mz[ends - 1]
            int_base = base + len(mz) * MZ_DTYPE.itemsize
            self._write_binary(np.ascontiguousarray(mz, dtype=MZ_DTYPE))
        self._write_binary(np.ascontiguousarray(ints, dtype=INT_DTYPE))
        cumulative = np.concatenate([[0.0], np.cumsum(ints, dtype=np.float64)])
        index = np.arange(self.n_written, self.n_written + len(lengths))
        columns = {
            "number": index + 1,
            "index": index,
            "length": lengths,
            "tic": (cumulative[ends] - cumulative[starts]).astype(np.float32),
            "lowest": lowest_mz,
            "highest": highest_mz,
            "x": x,
            "y": y,
            "mz_bytes": lengths * MZ_DTYPE.itemsize,
            "mz_offset": mz_offset,
            "int_bytes": lengths * INT_DTYPE.itemsize,
            "int_offset": int_base + starts * INT_DTYPE.itemsize,
        }
        self._xml.write(_fill(columns, len(lengths)).encode("ascii"))
        self.n_written += len(lengths)
        self.n_peaks += int(ends[-1]) if len(ends) else 0

    def close(self) -> str:
        """Finish both files (once); returns the SHA-1 of the ``.ibd``."""
        if self._xml.closed:
            return self.sha1.hexdigest().upper()
        if self.n_written != self.n_spectra:
            self._discard()
            raise ValueError(f"declared {self.n_spectra} spectra but wrote {self.n_written}")
        self._xml.write(_TRAILER.encode("ascii"))
        digest = self.sha1.hexdigest().upper()
        self._xml.seek(self._sha1_position)
        self._xml.write(digest.encode("ascii"))
        self._xml.close()
        self._ibd.close()
        return digest

    def _discard(self) -> None:
        """Close and delete both files."""
        self._xml.close()
        self._ibd.close()
        self.imzml_path.unlink(missing_ok=True)
        self.ibd_path.unlink(missing_ok=True)

    def _write_binary(self, array: np.ndarray) -> None:
        data = memoryview(array).cast("B")
        self._ibd.write(data)
        self.sha1.update(data)
        self._ibd_size += data.nbytes


def _fill(columns: dict[str, np.ndarray], n: int) -> str:
    """The spectrum template filled in for n spectra at once."""
    text = np.full(n, "", dtype=StringDType())
    for literal, field in _SPECTRUM_PARTS:
        text = text + literal
        if field:
            text = text + np.asarray(columns[field]).astype(StringDType())
    return "".join(text.tolist())
