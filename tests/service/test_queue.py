"""The durable queue: order, concurrent claims, leases of dead workers, attempts, lost ownership."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from ionscape.service import queue
from ionscape.service.models import Dataset, Job, User


def _datasets(service, n: int) -> list[str]:
    """``n`` queued datasets, submitted in one burst; their ids in submission order."""
    with service.sessions()() as session:
        user = User(email="lab@example.org", name="lab", password_hash="-")
        session.add(user)
        session.flush()
        ids = []
        for i in range(n):
            dataset = Dataset(
                owner_id=user.id,
                name=f"ds{i}",
                sample_metadata={},
                polarity="positive",
                config={},
                databases=[],
                input_files=[],
            )
            session.add(dataset)
            queue.enqueue(session, dataset)
            ids.append(dataset.id)
        session.commit()
    return ids


def _claim(service, worker_id: str, lease: float = 60.0) -> queue.Claim | None:
    with service.sessions()() as session:
        return queue.claim(session, worker_id, lease, max_attempts=3)


def _status(service, dataset_id: str) -> tuple[str, str, str | None]:
    with service.sessions()() as session:
        dataset = session.get_one(Dataset, dataset_id)
        job = dataset.latest_job
        return dataset.status, job.status, job.error


def test_jobs_are_claimed_in_submission_order(service):
    ids = _datasets(service, 25)
    claimed = [_claim(service, "w1").dataset_id for _ in ids]
    assert claimed == ids
    assert _claim(service, "w1") is None
    assert _status(service, ids[0])[:2] == ("running", "running")


def test_concurrent_claimers_never_share_a_job(service):
    ids = _datasets(service, 40)
    start = threading.Barrier(2)
    taken: dict[str, list[str]] = {"a": [], "b": []}

    def claimer(name: str) -> None:
        start.wait()
        while (claim := _claim(service, name)) is not None:
            taken[name].append(claim.dataset_id)
            time.sleep(0.002)  # a little work, so that the claimers interleave

    threads = [threading.Thread(target=claimer, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == sorted(ids)  # every job claimed, none twice
    assert taken["a"] and taken["b"]  # both claimers got work
    for name in taken:  # each claimer's jobs come in queue order
        assert taken[name] == sorted(taken[name], key=ids.index)


def test_claim_skips_rows_locked_by_another_worker(pg_service):
    first, second = _datasets(pg_service, 2)
    with pg_service.sessions()() as holder:
        locked = holder.scalars(
            select(Job).where(Job.dataset_id == first).with_for_update()
        ).one()  # another worker is in the middle of claiming the first job
        started = time.monotonic()
        claim = _claim(pg_service, "other")
        assert time.monotonic() - started < 5
        assert claim.dataset_id == second
        assert locked.status == "queued"
        holder.rollback()
    assert _claim(pg_service, "other").dataset_id == first


def test_job_of_a_dead_worker_is_claimed_again(service):
    (dataset_id,) = _datasets(service, 1)
    dead = _claim(service, "dead", lease=0.2)
    assert _claim(service, "alive") is None  # lease still valid
    time.sleep(0.3)
    alive = _claim(service, "alive")
    assert alive.job_id == dead.job_id and alive.attempt == 2
    with service.sessions()() as session:
        assert not queue.heartbeat(session, dead, 60, {})
        assert not queue.finish(session, dead)
        session.rollback()
        assert not queue.fail(session, dead, "late failure")
        assert queue.heartbeat(session, alive, 60, {"dataset": {"done": 1, "total": 1}})
        assert queue.finish(session, alive)
        session.commit()
    assert _status(service, dataset_id) == ("finished", "done", None)


def test_job_fails_after_max_attempts(service):
    (dataset_id,) = _datasets(service, 1)
    for attempt in range(1, 4):
        claim = _claim(service, f"crashy-{attempt}", lease=0.05)
        assert claim.attempt == attempt
        time.sleep(0.1)
    assert _claim(service, "next") is None
    dataset_status, job_status, error = _status(service, dataset_id)
    assert (dataset_status, job_status) == ("failed", "failed")
    assert "stopped responding (3 attempts)" in error


def test_released_job_goes_back_to_the_front(service):
    first, second = _datasets(service, 2)
    claim = _claim(service, "stopping")
    with service.sessions()() as session:
        assert queue.release(session, claim)
    again = _claim(service, "another")
    assert again.dataset_id == first and again.attempt == 1
    assert _status(service, first)[:2] == ("running", "running")
    assert _status(service, second)[:2] == ("queued", "queued")
