"""The durable job queue, kept in the database.

Jobs are claimed in id (submission) order. A claim selects the oldest claimable job — with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers pass over each other's rows — and
takes it with a conditional UPDATE that only succeeds if the job is still claimable (on SQLite the
database's write lock makes that UPDATE atomic). A running job holds a lease that its worker renews
with heartbeats; a job whose lease ran out (its worker died) becomes claimable again, and after
``max_attempts`` lost leases it fails. Every change of a job updates its dataset's status in the
same transaction; finishing a job is conditional on the worker still owning it, so a worker that
lost its lease can never publish results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ionscape.service.models import Dataset, Job, utcnow


@dataclass(frozen=True)
class Claim:
    """A job a worker now owns."""

    job_id: int
    dataset_id: str
    worker_id: str
    attempt: int


def enqueue(session: Session, dataset: Dataset) -> Job:
    """Queue an annotation job for ``dataset`` (the caller commits)."""
    job = Job(status="queued", progress={})
    dataset.jobs.append(job)
    dataset.status = "queued"
    session.flush()
    return job


def _claimable(now: datetime) -> Any:
    return or_(Job.status == "queued", and_(Job.status == "running", Job.lease_expires_at < now))


def claim(session: Session, worker_id: str, lease_seconds: float, max_attempts: int) -> Claim | None:
    """Take the oldest claimable job for ``worker_id``, or None when the queue is empty.

    Commits the session.
    """
    while True:
        now = utcnow()
        _fail_abandoned(session, now, max_attempts)
        candidate = session.scalars(
            select(Job.id).where(_claimable(now)).order_by(Job.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            session.commit()
            return None
        taken = session.execute(
            update(Job)
            .where(Job.id == candidate, _claimable(now))
            .values(
                status="running",
                worker_id=worker_id,
                attempts=Job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                progress={},
                error=None,
            )
            .returning(Job.dataset_id, Job.attempts)
        ).first()
        if taken is None:
            session.rollback()
            continue
        session.execute(update(Dataset).where(Dataset.id == taken.dataset_id).values(status="running"))
        session.commit()
        return Claim(candidate, taken.dataset_id, worker_id, taken.attempts)


def _fail_abandoned(session: Session, now: datetime, max_attempts: int) -> None:
    """Fail running jobs whose lease ran out ``max_attempts`` times."""
    abandoned = session.execute(
        update(Job)
        .where(Job.status == "running", Job.lease_expires_at < now, Job.attempts >= max_attempts)
        .values(
            status="failed",
            finished_at=now,
            error=f"the worker running this job stopped responding ({max_attempts} attempts)",
        )
        .returning(Job.dataset_id)
    ).scalars()
    dataset_ids = list(abandoned)
    if dataset_ids:
        session.execute(update(Dataset).where(Dataset.id.in_(dataset_ids)).values(status="failed"))


def _owned(claim: Claim) -> Any:
    return and_(Job.id == claim.job_id, Job.worker_id == claim.worker_id, Job.status == "running")


def heartbeat(session: Session, claim: Claim, lease_seconds: float, progress: dict[str, Any]) -> bool:
    """Renew the lease and store progress; False when the worker no longer owns the job. Commits."""
    now = utcnow()
    renewed = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds), progress=progress)
    ).rowcount
    session.commit()
    return renewed == 1


def finish(session: Session, claim: Claim) -> bool:
    """Mark the job done inside the caller's transaction (which also stores the results).

    Returns False, and changes nothing, when the worker no longer owns the job; the caller must
    then roll back.
    """
    now = utcnow()
    done = session.execute(
        update(Job).where(_owned(claim)).values(status="done", finished_at=now, lease_expires_at=None)
    ).rowcount
    if done != 1:
        return False
    session.execute(
        update(Dataset).where(Dataset.id == claim.dataset_id).values(status="finished", finished_at=now)
    )
    return True


def fail(session: Session, claim: Claim, error: str) -> bool:
    """Mark the job failed with ``error`` (shown to the dataset's owner). Commits."""
    now = utcnow()
    failed = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(status="failed", finished_at=now, lease_expires_at=None, error=error)
    ).rowcount
    if failed == 1:
        session.execute(
            update(Dataset).where(Dataset.id == claim.dataset_id).values(status="failed", finished_at=now)
        )
    session.commit()
    return failed == 1


def release(session: Session, claim: Claim) -> bool:
    """Give a job back to the queue (a worker shutting down); the attempt is not counted. Commits."""
    released = session.execute(
        update(Job)
        .where(_owned(claim))
        .values(status="queued", worker_id=None, lease_expires_at=None, attempts=Job.attempts - 1)
    ).rowcount
    if released == 1:
        session.execute(update(Dataset).where(Dataset.id == claim.dataset_id).values(status="queued"))
    session.commit()
    return released == 1


def is_active(job: Job | None) -> bool:
    """True while a job waits or runs."""
    return job is not None and job.status in ("queued", "running")
