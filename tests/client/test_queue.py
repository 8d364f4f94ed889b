"""Fifty submissions in a loop: none lost, queued in submission order, listed page by page."""

from __future__ import annotations

import ionscape
from ionscape.service import queue

N_DATASETS = 50


def test_fifty_submissions_queue_in_order(connect, app_service):
    client = connect("alice")
    submitted = [
        client.submit_dataset(ionscape.example_dataset(), name=f"batch-{i:02d}", progress=False)
        for i in range(N_DATASETS)
    ]
    assert [d.status for d in submitted] == ["queued"] * N_DATASETS
    job_ids = [d.job["id"] for d in submitted]
    assert job_ids == sorted(job_ids) and len(set(job_ids)) == N_DATASETS

    listed = client.datasets(status="queued")
    assert sorted(d.name for d in listed) == [f"batch-{i:02d}" for i in range(N_DATASETS)]
    paged = list(client.api.items("/datasets", page_size=7))
    assert [d["id"] for d in paged] == [d.id for d in listed]

    # workers take the jobs in the order they were submitted
    with app_service.sessions()() as session:
        claims = [queue.claim(session, "worker", lease_seconds=60, max_attempts=3) for _ in range(N_DATASETS)]
        assert queue.claim(session, "worker", lease_seconds=60, max_attempts=3) is None
    assert [c.dataset_id for c in claims] == [d.id for d in submitted]
    assert {d.refresh().status for d in submitted} == {"running"}
