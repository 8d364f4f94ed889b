"""The whole pipeline on real storage servers: Redis, and S3 (moto's server) via minio and aws_s3.

The dataset is uploaded into the backend and annotated from ``lithops://`` URIs; the table must
equal the one from localhost storage and METASPACE's reference. The servers record what they were
asked, which shows how the dataset task (another process) read the .ibd.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ionscape import annotate, example_config, load_moldb
from ionscape.errors import DatasetError, MissingIbdError, PipelineError
from ionscape.pipeline import executor as executor_module
from ionscape.pipeline.dataset import StorageObject
from ionscape.pipeline.executor import REMOTE_MONITORING_INTERVAL, Executor, resolve_lithops_config
from tests.conftest import DATA, REFERENCE
from tests.pipeline.backends import (
    REDIS_HOST,
    REDIS_PORT,
    RedisCommandLog,
    S3Server,
    aws_s3_config,
    byte_range,
    claimed_redis_db,
    redis_client,
    redis_config,
)
from tests.pipeline.test_reference import KEY

BUCKET = "ionscape-tests"
JOBS_PREFIX = "ionscape/jobs/"
BACKENDS = ["redis", "minio"]


# --- servers and configs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_db() -> Iterator[int]:
    import redis

    try:
        with claimed_redis_db() as db:
            yield db
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis does not answer on {REDIS_HOST}:{REDIS_PORT} — start redis-server ({exc})")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def backend_config(backend, request) -> dict[str, Any]:
    if backend == "redis":
        return redis_config(request.getfixturevalue("redis_db"))
    return request.getfixturevalue("s3_server").minio_config(BUCKET)


@pytest.fixture(scope="module")
def storage(backend_config):
    import lithops

    return lithops.Storage(config=backend_config)


@contextmanager
def ibd_reads(backend: str, request, storage, key: str) -> Iterator[list[tuple[int, int] | None]]:
    """Every read of object ``key`` the server served inside the block: (start, stop), None if whole."""
    reads: list[tuple[int, int] | None] = []
    if backend == "redis":
        db = request.getfixturevalue("redis_db")
        with RedisCommandLog(db) as log:
            yield reads
        raw_key = f"{storage.bucket}/{key}"
        for command in log.commands:
            if command[0] == "GET" and command[1] == raw_key:
                reads.append(None)
            elif command[0] == "GETRANGE" and command[1] == raw_key:
                reads.append((int(command[2]), int(command[3]) + 1))
    else:
        server = request.getfixturevalue("s3_server")
        start = len(server.requests)
        yield reads
        gets = [r for r in server.requests[start:] if r.method == "GET" and r.path == f"/{BUCKET}/{key}"]
        reads.extend(None if r.range is None else byte_range(r.range) for r in gets)


def leftover_job_objects(backend: str, request, storage) -> list[str]:
    """Objects under ionscape's job prefix, as the server lists them."""
    if backend == "redis":
        client = redis_client(request.getfixturevalue("redis_db"))
        # Lithops' Redis backend keeps its directory sets forever; objects are the string keys
        pattern = f"{storage.bucket}/{JOBS_PREFIX}*"
        return [k.decode() for k in client.scan_iter(match=pattern, _type="string")]
    return storage.list_keys(storage.bucket, prefix=JOBS_PREFIX)


def put(storage, key: str, data: bytes) -> str:
    """Store ``data`` at ``key``; returns its lithops:// URI."""
    storage.put_object(storage.bucket, key, data)
    return f"lithops://{storage.bucket}/{key}"


# --- inputs and the localhost baseline -------------------------------------------------------


@pytest.fixture(scope="module")
def mol_db5():
    return load_moldb(DATA / "moldb" / "mol_db5.csv", targeted=False)


@pytest.fixture(scope="module")
def localhost_table(example_imzml, lithops_local, mol_db5) -> pd.DataFrame:
    return annotate(example_imzml, [mol_db5], example_config(), lithops_config=lithops_local).annotations


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "untreated_tiny__mol_db5.csv", keep_default_na=False).set_index(KEY)


@pytest.fixture(scope="module")
def runs(backend, backend_config, storage, request, example_imzml, mol_db5):
    """Two jobs on the backend's storage (an empty centroid cache, then a full one), and the .ibd reads."""
    from ionscape.pipeline.centroids import clear_centroid_cache

    clear_centroid_cache(storage, storage.bucket)
    uri = put(storage, f"inputs/{example_imzml.name}", example_imzml.read_bytes())
    put(storage, f"inputs/{example_imzml.stem}.ibd", example_imzml.with_suffix(".ibd").read_bytes())
    with ibd_reads(backend, request, storage, f"inputs/{example_imzml.stem}.ibd") as reads:
        first = annotate(uri, [mol_db5], example_config(), lithops_config=backend_config)
    second = annotate(uri, [mol_db5], example_config(), lithops_config=backend_config)
    return first, second, reads


# --- end to end ------------------------------------------------------------------------------


def test_same_table_as_localhost_storage(runs, localhost_table, backend):
    first, second, _ = runs
    assert first.run["lithops"]["storage"] == backend
    pd.testing.assert_frame_equal(first.annotations, localhost_table)
    pd.testing.assert_frame_equal(second.annotations, localhost_table)


def test_table_is_metaspace_reference(runs, reference):
    ours = runs[0].annotations.set_index(KEY).sort_index()
    reference = reference.sort_index()
    assert len(reference) == 38
    assert list(ours.index) == list(reference.index)
    np.testing.assert_array_equal(ours["fdr"].to_numpy(), reference["fdr"].to_numpy())
    np.testing.assert_allclose(ours["msm"].to_numpy(float), reference["msm"].to_numpy(float), atol=1e-6)


def test_second_run_reads_every_centroid_from_the_cache(runs):
    first, second, _ = runs
    n_ions = first.run["ions"]["distinct_ion_formulas"]
    assert first.run["ions"]["centroids_from_cache"] == 0
    assert second.run["ions"]["centroids_from_cache"] == n_ions
    assert [s["tasks"] for s in second.run["stages"] if s["name"] == "centroids"] == [0]


def test_ibd_is_read_by_ranges_covering_exactly_the_spectra(runs, example_imzml):
    from ionscape.io.imzml import read_imzml_index

    reads = runs[2]
    assert reads, "the dataset task never read the .ibd"
    assert None not in reads, "the .ibd was downloaded whole"
    ibd = example_imzml.with_suffix(".ibd")
    index = read_imzml_index(example_imzml, ibd_size=ibd.stat().st_size)
    starts = np.concatenate([index.mz_offsets, index.int_offsets])
    stops = starts + np.concatenate(
        [index.mz_lengths * index.mz_dtype.itemsize, index.mz_lengths * index.int_dtype.itemsize]
    )
    was_read = np.zeros(ibd.stat().st_size, dtype=bool)
    for start, stop in reads:
        was_read[start:stop] = True
    spectra = np.zeros_like(was_read)
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        spectra[start:stop] = True
    assert was_read[spectra].all(), "some spectrum bytes were never read"
    assert not was_read[: starts.min()].any(), "the .ibd header (UUID) was read"
    assert was_read.sum() <= stops.max() - starts.min()


def test_job_objects_are_deleted(runs, backend, request, storage):
    assert leftover_job_objects(backend, request, storage) == []


# --- storage objects and missing inputs ------------------------------------------------------


def test_storage_object_returns_exactly_the_requested_bytes(storage):
    data = np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()
    source = StorageObject(storage, put(storage, "inputs/random.bin", data))
    assert source.size() == 1000
    for offset, length in [(0, 10), (123, 456), (990, 10), (995, 10), (999, 1), (1000, 5), (2000, 3)]:
        assert source.read(offset, length) == data[offset : offset + length]


def test_missing_ibd_is_named_and_job_objects_are_deleted(
    backend, backend_config, storage, request, example_imzml, mol_db5
):
    uri = put(storage, "orphan/no_ibd.imzML", example_imzml.read_bytes())
    with pytest.raises(MissingIbdError, match=r"lithops://.*/orphan/no_ibd\.ibd is missing"):
        annotate(uri, [mol_db5], example_config(), lithops_config=backend_config)
    assert leftover_job_objects(backend, request, storage) == []


def test_missing_imzml_is_named(backend_config, storage, mol_db5):
    with pytest.raises(DatasetError, match=r"lithops://.*/nowhere/x\.imzML is missing"):
        annotate(f"lithops://{storage.bucket}/nowhere/x.imzML", [mol_db5], lithops_config=backend_config)


# --- aws_s3 backend --------------------------------------------------------------------------


def test_aws_s3_backend_gives_the_same_table(s3_server, monkeypatch, example_imzml, mol_db5, localhost_table):
    import lithops

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint)  # localhost workers inherit it
    s3_server.create_bucket(f"{BUCKET}-aws")
    config = aws_s3_config(f"{BUCKET}-aws")
    storage = lithops.Storage(config=config)
    uri = put(storage, f"aws/{example_imzml.name}", example_imzml.read_bytes())
    put(storage, f"aws/{example_imzml.stem}.ibd", example_imzml.with_suffix(".ibd").read_bytes())
    results = annotate(uri, [mol_db5], example_config(), lithops_config=config)
    assert results.run["lithops"]["storage"] == "aws_s3"
    pd.testing.assert_frame_equal(results.annotations, localhost_table)


def test_remote_storage_statuses_are_polled_often_unless_configured(s3_server):
    chosen = s3_server.minio_config(BUCKET)
    default = s3_server.minio_config(BUCKET)
    del default["lithops"]["monitoring_interval"]
    assert resolve_lithops_config(default)["lithops"]["monitoring_interval"] == REMOTE_MONITORING_INTERVAL
    assert resolve_lithops_config(chosen)["lithops"]["monitoring_interval"] == 0.2
    assert (
        "monitoring_interval" not in resolve_lithops_config(redis_config(0))["lithops"]
    )  # pushed, not polled


# --- outages ---------------------------------------------------------------------------------


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_redis_is_reported_before_the_job(redis_db, mol_db5, example_imzml):
    port = closed_port()
    with pytest.raises(
        PipelineError, match=rf"Lithops storage 'redis' at 127\.0\.0\.1:{port} is unreachable"
    ):
        annotate("lithops://storage/inputs/x.imzML", [mol_db5], lithops_config=redis_config(redis_db, port))


@pytest.fixture
def outage_server(monkeypatch) -> Iterator[S3Server]:
    """An S3 server of its own, to be stopped by the test; a storage check after 0.5 s without news.

    The driver's S3 client gives up after one retry instead of five, so that the dead server is
    noticed in about a second instead of up to half a minute (what is tested is unchanged).
    """
    import lithops.storage.backends.minio.minio as minio_backend

    monkeypatch.setattr(minio_backend, "OBJ_REQ_RETRIES", 1)
    monkeypatch.setattr(executor_module, "STORAGE_CHECK_SECONDS", 0.5)
    server = S3Server()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


UNREACHABLE_S3 = r"Lithops storage 'minio' at http://127\.0\.0\.1:\d+ is unreachable"


def _hold_until_storage_fails(marker: str, storage: Any) -> None:
    """Lithops task: say it started, then run until the storage stops answering."""
    storage.put_object(storage.bucket, marker, b"")
    while True:
        storage.head_object(storage.bucket, marker)


def stop_when_written(server: S3Server, path: str, patience: float = 60.0) -> None:
    """Stop ``server`` as soon as it has been asked to store an object at ``path`` (or after ``patience``)."""
    give_up = time.monotonic() + patience
    while time.monotonic() < give_up and not any(
        r.method == "PUT" and r.path == path for r in server.requests
    ):
        time.sleep(0.02)
    server.stop()


def test_s3_outage_while_a_task_runs_ends_the_wait_with_an_error(outage_server):
    executor = Executor(outage_server.minio_config(BUCKET))
    marker = "outage/started"
    stopper = threading.Thread(target=stop_when_written, args=(outage_server, f"/{BUCKET}/{marker}"))
    stopper.start()
    try:
        with pytest.raises(PipelineError, match=UNREACHABLE_S3):
            executor.map("hold", _hold_until_storage_fails, [{"marker": marker}])
    finally:
        executor.close()
        stopper.join()


def test_s3_outage_between_stages_is_reported(outage_server, example_imzml, mol_db5):
    import lithops

    config = outage_server.minio_config(BUCKET)
    storage = lithops.Storage(config=config)
    uri = put(storage, f"inputs/{example_imzml.name}", example_imzml.read_bytes())
    put(storage, f"inputs/{example_imzml.stem}.ibd", example_imzml.with_suffix(".ibd").read_bytes())

    def stop_at_annotate(stage: str, done: int, total: int) -> None:
        if stage == "annotate":
            outage_server.stop()

    with pytest.raises(PipelineError, match=UNREACHABLE_S3):
        annotate(uri, [mol_db5], example_config(), lithops_config=config, progress=stop_at_annotate)
