"""Checksums of input files, recorded in run.json so a result can be traced to its inputs."""

from __future__ import annotations

import hashlib
import os
import threading

CHUNK_BYTES = 8 * 2**20


def file_checksum(path: str | os.PathLike, stop: threading.Event | None = None) -> str | None:
    """Hex blake2b digest of a file, read in 8 MiB chunks; None when ``stop`` is set before the end."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            if stop is not None and stop.is_set():
                return None
            digest.update(chunk)
    return digest.hexdigest()
