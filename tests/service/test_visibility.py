"""Who sees what: owner / other user / group member / anonymous / review link × private / group /
public / published datasets, through every kind of route; and who may change what."""

from __future__ import annotations

import pytest

from tests.service.conftest import submit_example

KINDS = ("private", "group", "public", "published", "unrelated")
EXPECTED = {
    "owner": {"private", "group", "public", "published", "unrelated"},
    "other": {"public", "published"},
    "member": {"group", "public", "published"},
    "anonymous": {"public", "published"},
    "reviewer": {"private", "group", "public", "published"},
}


@pytest.fixture
def world(service):
    alice, bob, carol = service.signup("alice"), service.signup("bob"), service.signup("carol")
    group = alice.post("/api/v1/groups", json={"name": f"lab-{service.backend}"}).json()
    added = alice.post(f"/api/v1/groups/{group['id']}/members", json={"email": carol.user["email"]})
    assert added.status_code == 201
    datasets = {
        "private": submit_example(alice, name="private"),
        "group": submit_example(alice, name="group", visibility="group", group_id=group["id"]),
        "public": submit_example(alice, name="public", visibility="public"),
        "published": submit_example(alice, name="published"),
        "unrelated": submit_example(alice, name="unrelated"),
    }
    ids = {kind: d["id"] for kind, d in datasets.items()}
    review = alice.post("/api/v1/projects", json={"name": "under review"}).json()
    for kind in ("private", "group", "public", "published"):
        assert alice.put(f"/api/v1/projects/{review['id']}/datasets/{ids[kind]}").status_code == 200
    token = alice.post(f"/api/v1/projects/{review['id']}/review-link").json()["token"]
    paper = alice.post("/api/v1/projects", json={"name": "paper"}).json()
    alice.put(f"/api/v1/projects/{paper['id']}/datasets/{ids['published']}")
    published = alice.post(f"/api/v1/projects/{paper['id']}/publish", json={"doi": "10.1000/xyz"})
    assert published.status_code == 200 and published.json()["published_at"]
    reviewer = service.client()
    reviewer.params = {"review_token": token}
    viewers = {
        "owner": alice,
        "other": bob,
        "member": carol,
        "anonymous": service.client(),
        "reviewer": reviewer,
    }
    return {"ids": ids, "viewers": viewers, "review": review, "paper": paper, "group": group, "token": token}


def test_dataset_pages(world):
    for viewer, client in world["viewers"].items():
        seen = {
            kind for kind, i in world["ids"].items() if client.get(f"/api/v1/datasets/{i}").status_code == 200
        }
        assert seen == EXPECTED[viewer], viewer
        hidden = set(KINDS) - seen
        assert all(client.get(f"/api/v1/datasets/{world['ids'][k]}").status_code == 404 for k in hidden)


def test_dataset_lists(world):
    for viewer, client in world["viewers"].items():
        listed = {d["id"] for d in client.get("/api/v1/datasets", params={"limit": 500}).json()["items"]}
        assert {kind for kind, i in world["ids"].items() if i in listed} == EXPECTED[viewer], viewer


def test_sub_routes_and_downloads_follow_visibility(world):
    paths = ["/annotations", "/annotations.csv", "/annotations/1", "/annotations/1/images/1.png"]
    for viewer, client in world["viewers"].items():
        for kind, dataset_id in world["ids"].items():
            codes = {client.get(f"/api/v1/datasets/{dataset_id}{p}").status_code for p in paths}
            # visible datasets have no results yet (409); invisible ones do not exist (404)
            assert codes == ({409} if kind in EXPECTED[viewer] else {404}), (viewer, kind)


def test_review_link_shows_only_its_project(world):
    reviewer, anonymous, bob = (world["viewers"][v] for v in ("reviewer", "anonymous", "other"))
    review_url = f"/api/v1/projects/{world['review']['id']}"
    assert reviewer.get(review_url).status_code == 200
    assert anonymous.get(review_url).status_code == 404 and bob.get(review_url).status_code == 404
    in_project = reviewer.get("/api/v1/datasets", params={"project_id": world["review"]["id"]}).json()
    assert in_project["total"] == 4
    header = anonymous.get(review_url, headers={"X-Review-Token": world["token"]})
    assert header.status_code == 200
    token = world["token"]
    wrong_token = token[:-1] + ("A" if token[-1] != "A" else "B")
    wrong = anonymous.get(review_url, params={"review_token": wrong_token})
    assert wrong.status_code == 404
    assert world["viewers"]["owner"].delete(f"{review_url}/review-link").status_code == 200
    assert reviewer.get(review_url).status_code == 404
    assert reviewer.get(f"/api/v1/datasets/{world['ids']['private']}").status_code == 404


def test_published_project_is_public_and_read_only(world):
    alice, anonymous = world["viewers"]["owner"], world["viewers"]["anonymous"]
    paper_url = f"/api/v1/projects/{world['paper']['id']}"
    project = anonymous.get(paper_url).json()
    assert (project["visibility"], project["doi"], project["can_edit"]) == ("public", "10.1000/xyz", False)
    assert alice.patch(paper_url, json={"name": "changed"}).status_code == 409
    assert alice.delete(paper_url).status_code == 409
    published = f"/api/v1/datasets/{world['ids']['published']}"
    assert alice.get(published).json()["can_edit"] is False
    assert alice.patch(published, json={"visibility": "private"}).status_code == 409
    assert alice.delete(published).status_code == 409


def test_only_owners_change_things(world):
    bob, carol, anonymous, reviewer = (
        world["viewers"][v] for v in ("other", "member", "anonymous", "reviewer")
    )
    group_dataset = f"/api/v1/datasets/{world['ids']['group']}"
    assert carol.patch(group_dataset, json={"name": "x"}).status_code == 403
    assert carol.delete(group_dataset).status_code == 403
    assert carol.post(f"{group_dataset}/rerun").status_code == 403
    assert reviewer.delete(group_dataset).status_code == 401
    review_url = f"/api/v1/projects/{world['review']['id']}"
    assert reviewer.patch(review_url, json={"name": "x"}).status_code == 401
    bob_project = bob.post("/api/v1/projects", json={"name": "bob's"}).json()
    stolen = bob.put(f"/api/v1/projects/{bob_project['id']}/datasets/{world['ids']['public']}")
    assert stolen.status_code == 403  # a project takes only its owner's datasets
    hidden = bob.put(f"/api/v1/projects/{bob_project['id']}/datasets/{world['ids']['private']}")
    assert hidden.status_code == 404
    assert anonymous.post("/api/v1/projects", json={"name": "x"}).status_code == 401


def test_groups(world):
    alice, bob, carol = (world["viewers"][v] for v in ("owner", "other", "member"))
    group_url = f"/api/v1/groups/{world['group']['id']}"
    members = {m["user"]["name"]: m["role"] for m in carol.get(group_url).json()["members"]}
    assert members == {"alice": "admin", "carol": "member"}
    assert bob.get(group_url).status_code == 404
    assert carol.post(f"{group_url}/members", json={"email": bob.user["email"]}).status_code == 403
    assert alice.post(f"{group_url}/members", json={"email": bob.user["email"]}).status_code == 201
    assert bob.get(f"/api/v1/datasets/{world['ids']['group']}").status_code == 200
    assert bob.delete(f"{group_url}/members/{bob.user['id']}").status_code == 200  # leaving
    assert bob.get(f"/api/v1/datasets/{world['ids']['group']}").status_code == 404
    assert carol.delete(f"{group_url}/members/{alice.user['id']}").status_code == 403
    bobs = submit_example(bob, name="bob's")
    outsider = bob.patch(
        f"/api/v1/datasets/{bobs['id']}", json={"visibility": "group", "group_id": world["group"]["id"]}
    )
    assert outsider.status_code == 422 and "not a member" in outsider.json()["detail"]
