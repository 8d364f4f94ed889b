"""Throughput and memory of the synthetic dataset generator.

    python benchmarks/bench_synth.py [--width 200] [--height 200] [--peaks 1500] [--continuous]

Writes the dataset to a temporary folder (deleted afterwards), then prints the .ibd size, the
generation speed in MB/s (wall time of the whole call, set-up included) and the peak resident
memory of the process, which should stay far below the dataset size. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from ionscape.synthetic import SynthSpec, synthesize


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--height", type=int, default=200)
    parser.add_argument("--peaks", type=int, default=1500, help="peaks per spectrum")
    parser.add_argument("--planted", type=int, default=50, help="random planted ions")
    parser.add_argument("--isotopes", default="engine", choices=["engine", "isospec"])
    parser.add_argument("--continuous", action="store_true")
    args = parser.parse_args()
    spec = SynthSpec(
        width=args.width,
        height=args.height,
        peaks_per_spectrum=args.peaks,
        n_planted=args.planted,
        isotopes=args.isotopes,
        continuous=args.continuous,
    )
    folder = Path(tempfile.mkdtemp(prefix="ionscape-bench-synth-"))
    try:
        warm_up = SynthSpec(width=4, height=2, n_planted=2, isotopes=args.isotopes)
        synthesize(folder / "warm-up.imzML", warm_up)
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        truth = synthesize(folder / "bench.imzML", spec)
        wall = time.perf_counter() - start
        ibd_mb = truth.summary["ibd_bytes"] / 2**20
        xml_mb = (folder / "bench.imzML").stat().st_size / 2**20
    finally:
        shutil.rmtree(folder)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    mode = "continuous" if args.continuous else "processed"
    print(
        f"{args.width}×{args.height} px × {args.peaks} peaks ({mode}, {args.isotopes} isotopes): "
        f"{truth.summary['n_peaks']:,} peaks, .ibd {ibd_mb:,.1f} MiB, .imzML {xml_mb:,.1f} MiB"
    )
    print(f"wall {wall:.2f} s → {ibd_mb / wall:,.1f} MB/s (.ibd MiB per second)")
    print(f"peak RSS {peak_rss_mb():,.0f} MiB (after warm-up: {rss_before:,.0f} MiB)")


if __name__ == "__main__":
    main()
