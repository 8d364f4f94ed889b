import io

import numpy as np
import pytest

from ionscape.io.concatenation import Concatenation
from ionscape.pipeline.objects import MAGIC, dumps_arrays, get_arrays, loads_arrays, put_arrays

ARRAYS = {
    "scalar": np.int64(5),
    "empty": np.empty(0),
    "empty_rows": np.empty((0, 4), dtype=np.float32),
    "unicode": np.array(["a", "bcd"]),
    "bools": np.array([True, False, True]),
    "strided": np.arange(12.0).reshape(3, 4)[:, 1:3],
    "big_endian": np.arange(10, dtype=">i4"),
    "raw_bytes": np.array([b"ab", b"c"]),
    "pixels": np.arange(1001, dtype=np.uint32),
}


def test_round_trip_keeps_values_dtypes_and_shapes():
    loaded = loads_arrays(dumps_arrays(**ARRAYS))
    assert list(loaded) == list(ARRAYS)
    for name, array in ARRAYS.items():
        array = np.asarray(array)
        assert loaded[name].dtype == array.dtype, name
        assert loaded[name].shape == array.shape, name
        np.testing.assert_array_equal(loaded[name], array)
    assert int(loaded["scalar"]) == 5


def test_arrays_are_aligned_read_only_views_of_the_bytes():
    data = dumps_arrays(a=np.arange(3, dtype=np.uint8), b=np.arange(5.0))
    assert data.startswith(MAGIC)
    loaded = loads_arrays(data)
    for array in loaded.values():
        assert not array.flags.writeable
        assert array.base is not None
        assert array.__array_interface__["data"][0] % 64 == np.frombuffer(data, np.uint8).ctypes.data % 64
    with pytest.raises(ValueError, match="read-only"):
        loaded["b"][0] = 1.0


def test_object_arrays_of_str_become_unicode():
    loaded = loads_arrays(dumps_arrays(names=np.array(["C6H12O6", "H2O"], dtype=object)))
    assert loaded["names"].dtype == np.dtype("<U7")
    assert loaded["names"].tolist() == ["C6H12O6", "H2O"]


def test_npz_archives_of_earlier_versions_are_read():
    buffer = io.BytesIO()
    np.savez(buffer, mz=np.array([[100.5, 101.5]]), ion_formulas=np.array(["C6H13O6"]))
    loaded = loads_arrays(buffer.getvalue())
    np.testing.assert_array_equal(loaded["mz"], [[100.5, 101.5]])
    assert loaded["ion_formulas"].tolist() == ["C6H13O6"]


def test_refuses_what_it_cannot_store_or_read():
    rows = np.zeros(2, dtype=[("mz", "<f8"), ("ints", "<f4")])
    with pytest.raises(ValueError, match="plain numeric or str"):
        dumps_arrays(rows=rows)
    with pytest.raises(ValueError, match="not an object of ionscape arrays"):
        loads_arrays(b"something else")


class RecordingStorage:
    """A storage in memory that records what ``put_object`` was given."""

    def __init__(self, backend):
        self.backend, self.objects, self.given = backend, {}, []

    def put_object(self, bucket, key, data):
        self.given.append(type(data))
        self.objects[bucket, key] = data if isinstance(data, bytes) else data.read()

    def get_object(self, bucket, key):
        return self.objects[bucket, key]


@pytest.mark.parametrize(("backend", "given"), [("localhost", Concatenation), ("redis", bytes)])
def test_localhost_storage_gets_a_stream_of_the_arrays_others_one_bytes(backend, given):
    storage = RecordingStorage(backend)
    put_arrays(storage, "bucket", "key", **ARRAYS)
    assert storage.given == [given]
    assert storage.objects["bucket", "key"] == dumps_arrays(**ARRAYS)


def test_round_trip_through_lithops_localhost_storage(lithops_local):
    import lithops

    storage = lithops.Storage(config=lithops_local)
    key = put_arrays(storage, storage.bucket, "ionscape-tests/objects/round-trip", **ARRAYS)
    try:
        loaded = get_arrays(storage, storage.bucket, key)
        for name, array in ARRAYS.items():
            np.testing.assert_array_equal(loaded[name], np.asarray(array), err_msg=name)
    finally:
        storage.delete_object(storage.bucket, key)
