"""A file object over buffers laid end to end."""

from __future__ import annotations

import numpy as np

from ionscape.io.concatenation import Concatenation


def test_concatenation_reads_its_parts_end_to_end():
    stream = Concatenation(b"<a>", b"", memoryview(b"<b/><c/>"), bytearray(b"</a>"))
    assert stream.read(2) == b"<a"
    assert stream.read() == b"><b/><c/></a>"
    assert stream.read(5) == b""


def test_arrays_are_read_as_their_bytes_in_small_reads():
    arrays = [np.arange(5, dtype=np.float64), np.zeros(0, np.uint8), np.array([7, 8], dtype=np.uint32)]
    stream = Concatenation(*arrays)
    chunks = iter(lambda: stream.read(3), b"")
    assert b"".join(chunks) == b"".join(a.tobytes() for a in arrays)
