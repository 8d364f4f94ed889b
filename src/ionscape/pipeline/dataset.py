"""Stage: read the imzML dataset, sort all peaks by m/z, and store them as m/z segments.

Runs as one Lithops task. The output is a list of segment objects, each holding a slice of
the global (stable) m/z-sorted peak list, plus the segment bounds the annotate stage uses to
find the segments an ion needs (ALGORITHM.md §5.1, §7.2 load_ds).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ionscape.errors import EmptyDatasetError
from ionscape.pipeline.objects import put_arrays

STORAGE_SCHEME = "lithops://"


@dataclass(frozen=True)
class DatasetRef:
    """Where a dataset is: local paths, or ``lithops://bucket/key`` URIs in Lithops storage."""

    imzml: str
    ibd: str

    @property
    def in_storage(self) -> bool:
        """True when the files are objects in Lithops storage."""
        return self.imzml.startswith(STORAGE_SCHEME)


class StorageObject:
    """A :class:`ionscape.io.imzml.ByteSource` reading byte ranges of an object in Lithops storage."""

    def __init__(self, storage: Any, uri: str) -> None:
        self.storage = storage
        self.bucket, self.key = split_storage_uri(uri)

    def size(self) -> int:
        return int(self.storage.head_object(self.bucket, self.key)["content-length"])

    def read(self, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        rng = {"Range": f"bytes={offset}-{offset + length - 1}"}
        return self.storage.get_object(self.bucket, self.key, extra_get_args=rng)


def split_storage_uri(uri: str) -> tuple[str, str]:
    """``lithops://bucket/key`` → (bucket, key)."""
    bucket, _, key = uri.removeprefix(STORAGE_SCHEME).partition("/")
    return bucket, key


def load_dataset(
    dataset: dict[str, str], prefix: str, segment_mb: float, allow_profile: bool, storage: Any
) -> dict[str, Any]:
    """Lithops task: read, sort and segment the dataset; write segments under ``prefix``.

    Returns a small summary: geometry key, segment keys and their m/z bounds, peak counts.
    """
    from ionscape.io.imzml import LocalFile, read_imzml_index, read_peaks

    ref = DatasetRef(**dataset)
    if ref.in_storage:
        source = StorageObject(storage, ref.ibd)
        with tempfile.TemporaryDirectory() as tmp:
            bucket, key = split_storage_uri(ref.imzml)
            local_xml = os.path.join(tmp, os.path.basename(key))
            with open(local_xml, "wb") as f:
                f.write(storage.get_object(bucket, key))
            index = read_imzml_index(local_xml, ibd_size=source.size(), allow_profile=allow_profile)
    else:
        source = LocalFile(ref.ibd)
        index = read_imzml_index(ref.imzml, ibd_size=source.size(), allow_profile=allow_profile)

    mz, ints, pixels = read_peaks(index, source)
    if len(mz) == 0:
        raise EmptyDatasetError(f"{ref.imzml}: no peak with a positive intensity in any spectrum")
    order = np.argsort(mz, kind="stable")
    mz, ints, pixels = mz[order], ints[order], pixels[order].astype(np.uint32)
    del order

    bucket = storage.bucket
    geometry_key = put_arrays(
        storage,
        bucket,
        f"{prefix}/dataset/geometry",
        width=np.int64(index.width),
        height=np.int64(index.height),
        sampled_pixels=index.sampled_pixels,
    )
    row_bytes = mz.itemsize + ints.itemsize + pixels.itemsize
    n_segments = max(1, int(np.ceil(len(mz) * row_bytes / (segment_mb * 2**20))))
    edges = np.linspace(0, len(mz), n_segments + 1).astype(np.int64)
    keys, lower, upper = [], [], []
    for i, (start, stop) in enumerate(itertools.pairwise(edges)):
        if stop <= start:
            continue
        keys.append(
            put_arrays(
                storage,
                bucket,
                f"{prefix}/dataset/segment-{i:05d}",
                mz=mz[start:stop],
                ints=ints[start:stop],
                pixels=pixels[start:stop],
            )
        )
        lower.append(float(mz[start]))
        upper.append(float(mz[stop - 1]))
    return {
        "geometry_key": geometry_key,
        "segment_keys": keys,
        "segment_lower": lower,
        "segment_upper": upper,
        "n_spectra": int(index.n_spectra),
        "n_peaks": len(mz),
        "width": int(index.width),
        "height": int(index.height),
        "mz_dtype": str(mz.dtype),
        "mz_min": float(mz[0]) if len(mz) else 0.0,
        "mz_max": float(mz[-1]) if len(mz) else 0.0,
        "ibd_bytes": int(source.size()),
    }
