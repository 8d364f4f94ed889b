"""pyimzML on several cores: an imzML's spectrum list cut into pieces that are parsed side by side.

pyimzML reads an imzML in one pass on one core (≈ 26 MB of XML a second, 2.5 s for a 40,000-pixel
dataset). Every piece handed to it here is a whole imzML document made of the file's own bytes:
everything before the first ``<spectrum`` element (the header, with the parameter groups the
spectra refer to), a run of complete ``<spectrum>`` elements, and everything from
``</spectrumList>`` on. The first piece is parsed in this process, the others in forked
processes, each of which sends back its per-spectrum lists; the lists are laid end to end.

Pieces are only a shortcut: :func:`parse_in_pieces` answers None, and the caller parses the file
whole, when the file is small, when its layout is not the plain one searched for (a namespace
prefix on the tags, say), when a piece does not hold the spectra it was cut around, when any
value in the file is negative (offsets past 2 GiB written as signed 32-bit numbers are negative,
and pyimzML repairs them in a pass over the whole list), or when a piece fails.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from ionscape.io.concatenation import Concatenation

logger = logging.getLogger(__name__)

MIN_PIECE_BYTES = 4 * 2**20
"""Pieces are at least this large: below, a fork costs more than it saves."""
CHILD_TIMEOUT_FACTOR = 20
"""A forked piece may take this many times as long as the one parsed here (plus a minute)."""
SPECTRUM_LISTS = ("coordinates", "mzOffsets", "mzLengths", "intensityOffsets", "intensityLengths")
"""The per-spectrum lists of a pyimzML ``ImzMLParser`` that are laid end to end."""

_SPECTRUM_START = b"<spectrum "
_LIST_START = b"<spectrumList"
_LIST_END = b"</spectrumList>"
_NEGATIVE_VALUE = b'value="-'

Parse = Callable[[Concatenation], Any]
"""Runs pyimzML's parser on a file object and returns the parser."""


def find_layout(xml: bytes, pieces: int) -> list[int] | None:
    """Where to cut ``xml`` into up to ``pieces`` runs of whole spectra of about equal size, each
    at least MIN_PIECE_BYTES: the first cut ends the header (the first ``<spectrum``), the last
    starts the tail (``</spectrumList>``); None when it is not worth it or the layout is not plain."""
    list_start = xml.find(_LIST_START)
    tail_start = xml.rfind(_LIST_END)
    header_end = xml.find(_SPECTRUM_START, list_start) if list_start >= 0 else -1
    if not 0 <= header_end < tail_start:
        return None
    pieces = min(pieces, (tail_start - header_end) // MIN_PIECE_BYTES)
    if pieces < 2:
        return None
    step = (tail_start - header_end) / pieces
    cuts = [header_end]
    for i in range(1, pieces):
        cut = xml.find(_SPECTRUM_START, header_end + int(i * step), tail_start)
        if cut > cuts[-1]:
            cuts.append(cut)
    cuts.append(tail_start)
    return cuts if len(cuts) > 2 else None


def parse_in_pieces(xml: bytes, parse: Parse, processes: int) -> Any | None:
    """pyimzML's parser of all of ``xml``, run as pieces on ``processes`` cores: an object with
    the first piece's attributes and every piece's per-spectrum lists; None when the file must
    be parsed whole (see the module's documentation)."""
    if processes < 2 or not sys.platform.startswith("linux"):  # fork is safe only on Linux
        return None
    if _NEGATIVE_VALUE in xml:
        return None  # maybe offsets past 2 GiB stored as signed 32-bit, which pyimzML repairs in one pass
    cuts = find_layout(xml, processes)
    if cuts is None:
        return None
    view = memoryview(xml)
    spans = list(itertools.pairwise(cuts))
    header, tail = view[: cuts[0]], view[cuts[-1] :]
    pieces = [Concatenation(header, view[lo:hi], tail) for lo, hi in spans]
    expected = [xml.count(_SPECTRUM_START, lo, hi) for lo, hi in spans]
    context = multiprocessing.get_context("fork")
    children = []
    try:
        for piece in pieces[1:]:
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=_parse_piece, args=(parse, piece, sender), daemon=True)
            children.append((child, receiver))
            child.start()
            sender.close()
        started = time.perf_counter()
        first = parse(pieces[0])
        timeout = 60 + CHILD_TIMEOUT_FACTOR * (time.perf_counter() - started)
        lists = [_spectrum_lists(first)]
        lists += [_receive(child, receiver, timeout) for child, receiver in children]
    except Exception as exc:  # the caller parses the whole file, which reports the error where it is
        logger.debug("parsing the imzML in pieces failed: %s", exc)
        return None
    finally:
        for child, receiver in children:
            receiver.close()
            if child.pid is not None:  # started
                child.kill()
                child.join()
    if any(part is None for part in lists) or [len(part["coordinates"]) for part in lists] != expected:
        return None
    merged = {name: np.concatenate([part[name] for part in lists]) for name in SPECTRUM_LISTS}
    return SimpleNamespace(**(vars(first) | merged))


def _spectrum_lists(parser: Any) -> dict[str, np.ndarray]:
    """A parser's per-spectrum lists as int64 arrays (coordinates: one (x, y, z) row each)."""
    return {name: np.asarray(getattr(parser, name), dtype=np.int64) for name in SPECTRUM_LISTS}


def _parse_piece(parse: Parse, piece: Concatenation, sender: Any) -> None:
    """Forked process: parse one piece and send back its per-spectrum lists (None on failure)."""
    try:
        parser = parse(piece)
        sender.send(_spectrum_lists(parser))
    except Exception as exc:  # the caller parses the whole file, which reports the error
        logger.debug("parsing a piece of the imzML failed: %s", exc)
        sender.send(None)
    finally:
        sender.close()


def _receive(child: Any, receiver: Any, timeout: float) -> dict[str, Any] | None:
    """A forked piece's arrays, or None when it failed, died or took longer than ``timeout`` s."""
    try:
        if receiver.poll(timeout):
            return receiver.recv()
    except (EOFError, OSError):
        pass
    logger.debug("a forked piece of the imzML gave no answer (exit code %s)", child.exitcode)
    return None
