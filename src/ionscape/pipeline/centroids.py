"""Stage: theoretical isotope centroids of every ion formula, with a cross-job cache.

The cache lives in Lithops storage under ``ionscape/centroid-cache/<settings key>/``: a set of
write-once part objects, each mapping ion formulas to their centroids. Jobs read every part,
compute only the ions no part has, and add the new ones as a new part, so concurrent jobs
never modify each other's objects.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np

from ionscape.chem.isotopes import IsotopeSettings
from ionscape.pipeline.executor import BaseExecutor
from ionscape.pipeline.objects import delete_prefix, get_arrays, new_key, put_arrays

logger = logging.getLogger("ionscape.pipeline")

CACHE_ROOT = "ionscape/centroid-cache"
MAX_CACHE_PARTS = 64
MIN_IONS_PER_TASK = 20_000
MAX_IONS_PER_TASK = 100_000
TASKS_PER_WORKER = 4
MIN_IONS_PER_WORKER = 1_000


def centroid_task_count(n_ions: int, workers: int) -> int:
    """Tasks for ``n_ions`` centroids: about ``TASKS_PER_WORKER`` per worker (fewer, larger tasks
    pay task start-up less often), each of ``MIN_IONS_PER_TASK``–``MAX_IONS_PER_TASK`` ions, but
    one per worker when each gets at least ``MIN_IONS_PER_WORKER``."""
    workers = max(workers, 1)
    wanted = -(-n_ions // (TASKS_PER_WORKER * workers))
    per_task = min(max(wanted, MIN_IONS_PER_TASK), MAX_IONS_PER_TASK)
    return max(-(-n_ions // per_task), min(workers, -(-n_ions // MIN_IONS_PER_WORKER)), 1)


def compute_centroids_part(ions_key: str, settings: dict[str, Any], out_prefix: str, storage: Any) -> str:
    """Lithops task: centroids of the ion formulas in ``ions_key``; returns the part's key."""
    from ionscape.chem.isotopes import compute_centroids

    ion_formulas = get_arrays(storage, storage.bucket, ions_key)["ion_formulas"]
    mz, ints = compute_centroids(list(ion_formulas), IsotopeSettings(**settings))
    return put_arrays(
        storage, storage.bucket, new_key(out_prefix, "part"), ion_formulas=ion_formulas, mz=mz, ints=ints
    )


def centroids_for(
    executor: BaseExecutor,
    ion_formulas: np.ndarray,
    settings: IsotopeSettings,
    job_prefix: str,
    *,
    workers: int = 1,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Centroids (mz, ints) of ``ion_formulas`` in their order, and how many came from the cache."""
    storage, bucket = executor.storage, executor.bucket
    cache_prefix = f"{CACHE_ROOT}/{settings.cache_key()}"
    n_peaks = settings.n_peaks
    mz = np.zeros((len(ion_formulas), n_peaks), dtype=np.float64)
    ints = np.zeros((len(ion_formulas), n_peaks), dtype=np.float32)
    found = np.zeros(len(ion_formulas), dtype=bool)
    parts = _list_parts(storage, bucket, cache_prefix) if use_cache else []
    _fill_from_parts(storage, bucket, parts, ion_formulas, mz, ints, found)
    from_cache = int(found.sum())

    missing = ion_formulas[~found]
    out_prefix = cache_prefix if use_cache else f"{job_prefix}/centroids"
    n_tasks = centroid_task_count(len(missing), workers)
    iterdata = []
    for i, chunk in enumerate(np.array_split(missing, n_tasks) if len(missing) else []):
        key = put_arrays(storage, bucket, f"{job_prefix}/centroid-input/{i:05d}", ion_formulas=chunk)
        iterdata.append({"ions_key": key, "settings": asdict(settings), "out_prefix": out_prefix})
    new_parts = (
        executor.map("centroids", compute_centroids_part, iterdata, memory_mb=1024) if iterdata else []
    )
    _fill_from_parts(storage, bucket, new_parts, ion_formulas, mz, ints, found)
    if use_cache and len(parts) + len(new_parts) > MAX_CACHE_PARTS:
        _compact(storage, bucket, cache_prefix, parts + new_parts)
    return mz, ints, from_cache


def clear_centroid_cache(storage: Any, bucket: str) -> int:
    """Delete every cached centroid; returns the number of objects removed."""
    return delete_prefix(storage, bucket, CACHE_ROOT)


def _list_parts(storage: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(k for k in storage.list_keys(bucket, prefix=prefix + "/") if "/part-" in k)


def _fill_from_parts(
    storage: Any,
    bucket: str,
    parts: list[str],
    ion_formulas: np.ndarray,
    mz: np.ndarray,
    ints: np.ndarray,
    found: np.ndarray,
) -> None:
    import pandas as pd

    wanted = pd.Index(ion_formulas)
    for key in parts:
        try:
            part = get_arrays(storage, bucket, key)
        except Exception as exc:  # a part removed by a concurrent compaction: its ions are recomputed
            logger.debug("centroid cache part %s unreadable: %s", key, exc)
            continue
        where = wanted.get_indexer(part["ion_formulas"])
        hit = where >= 0
        rows = where[hit]
        mz[rows] = part["mz"][hit]
        ints[rows] = part["ints"][hit]
        found[rows] = True


def _compact(storage: Any, bucket: str, prefix: str, parts: list[str]) -> None:
    """Merge many small cache parts into one."""
    merged: dict[str, list[np.ndarray]] = {"ion_formulas": [], "mz": [], "ints": []}
    for key in parts:
        try:
            part = get_arrays(storage, bucket, key)
        except Exception:
            continue
        for name in merged:
            merged[name].append(part[name])
    ion_formulas = np.concatenate(merged["ion_formulas"])
    _, first = np.unique(ion_formulas, return_index=True)
    put_arrays(
        storage,
        bucket,
        new_key(prefix, "part"),
        ion_formulas=ion_formulas[first],
        mz=np.concatenate(merged["mz"])[first],
        ints=np.concatenate(merged["ints"])[first],
    )
    storage.delete_objects(bucket, parts)
