"""The ionscape benchmark suite: workloads, measurement, accuracy, scaling fits and reports.

Run it with ``python benchmarks/run.py --suite small|medium|large|all`` (see benchmarks/RESULTS.md).
"""
