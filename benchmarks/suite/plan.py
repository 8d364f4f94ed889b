"""Which jobs each suite runs: the workload matrix, the scaling series, the worker series and the
Lithops-against-Spark comparison."""

from __future__ import annotations

from suite.measure import Workload
from suite.workloads import DATABASES, SIZES

SUITES = ("small", "medium", "large")
EXECUTORS = ("lithops", "spark")
DB_SERIES_SIZES = (1_800, 3_600, 7_300, 14_600, 29_156)
"""Formula counts of the database series: leading parts of mol_db1-4 (29,156 formulas)."""


def _matrix(size: str, databases: tuple[str, ...]) -> list[Workload]:
    width, height, peaks = SIZES[size]
    return [
        Workload("matrix", width, height, peaks, DATABASES[db], cache=cache)
        for db in databases
        for cache in ("cold", "warm")
    ]


def _workers(size: str, caches: tuple[str, ...], counts: tuple[int, ...] = (1, 2, 4)) -> list[Workload]:
    width, height, peaks = SIZES[size]
    return [
        Workload(
            "workers", width, height, peaks, DATABASES["core"], workers=n, cache=cache, executor=executor
        )
        for executor in EXECUTORS
        for cache in caches
        for n in counts
    ]


def _executors(size: str) -> list[Workload]:
    """The same job on both executors, cold start and cold centroid cache, as METASPACE compared them."""
    width, height, peaks = SIZES[size]
    return [
        Workload("executors", width, height, peaks, DATABASES["core"], cache="cold", executor=executor)
        for executor in EXECUTORS
    ]


def _pixels(sides: tuple[int, ...]) -> list[Workload]:
    return [Workload("pixels", side, side, 1000, DATABASES["core"], cache="warm") for side in sides]


def _peaks(side: int) -> list[Workload]:
    return [
        Workload("peaks", side, side, peaks, DATABASES["core"], cache="warm")
        for peaks in (250, 500, 1000, 2000, 4000)
    ]


def _database(side: int, peaks: int) -> list[Workload]:
    base = DATABASES["db1-4"]
    return [
        Workload("database", side, side, peaks, base.limited(n) if n < DB_SERIES_SIZES[-1] else base, cache=c)
        for n in DB_SERIES_SIZES
        for c in ("cold", "warm")
    ]


def plan(suite: str) -> list[Workload]:
    """The workloads of ``suite`` (``small``, ``medium``, ``large`` or ``all``), in run order."""
    if suite == "all":
        return list(dict.fromkeys(w for name in SUITES for w in plan(name)))
    if suite == "small":
        return [
            *_matrix("small", ("core", "db1-4")),
            *_executors("small"),
            *_workers("small", ("cold", "warm")),
            *_pixels((25, 50, 100)),
            *_peaks(50),
            *_database(50, 1000),
        ]
    if suite == "medium":
        return [
            *_matrix("medium", ("core", "db1-4")),
            *_executors("medium"),
            *_workers("medium", ("warm",), (1, 2, 4, 8)),
            *_pixels((50, 100, 141, 200)),
            *_peaks(100),
        ]
    if suite == "large":
        width, height, peaks = SIZES["medium"]
        return [
            *_executors("large"),
            *_matrix("large", ("core", "db1-4", "all", "db1-4+mods")),
            *(
                Workload("matrix", width, height, peaks, DATABASES[db], cache=c)
                for db in ("all", "db1-4+mods")
                for c in ("cold", "warm")
            ),
        ]
    raise ValueError(f"unknown suite {suite!r}: use one of {', '.join(SUITES)} or all")
