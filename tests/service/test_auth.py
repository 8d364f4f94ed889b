"""Sign-up, log-in, log-out, API keys and CSRF protection of cookie-authenticated writes."""

from __future__ import annotations

from tests.service.conftest import PASSWORD


def test_signup_login_logout(service):
    client = service.client()
    signup = client.post(
        "/api/v1/auth/signup", json={"email": "Ada@Example.org", "name": "Ada", "password": PASSWORD}
    )
    assert signup.status_code == 201
    assert signup.json()["user"]["email"] == "ada@example.org"
    assert "ionscape_session" in client.cookies
    assert client.get("/api/v1/auth/me").json()["name"] == "Ada"

    csrf = signup.json()["csrf_token"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401

    fresh = service.client()
    wrong = fresh.post("/api/v1/auth/login", json={"email": "ada@example.org", "password": "not it at all"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong e-mail or password"
    unknown = fresh.post("/api/v1/auth/login", json={"email": "bob@example.org", "password": PASSWORD})
    assert unknown.status_code == 401
    login = fresh.post("/api/v1/auth/login", json={"email": "ADA@example.org", "password": PASSWORD})
    assert login.status_code == 200
    assert fresh.get("/api/v1/auth/me").json()["email"] == "ada@example.org"


def test_signup_rejects_duplicates_and_weak_input(service):
    client = service.client()
    body = {"email": "eve@example.org", "name": "Eve", "password": PASSWORD}
    assert client.post("/api/v1/auth/signup", json=body).status_code == 201
    duplicate = service.client().post("/api/v1/auth/signup", json={**body, "email": "EVE@example.org"})
    assert duplicate.status_code == 409 and "already" in duplicate.json()["detail"]
    short = service.client().post(
        "/api/v1/auth/signup", json={**body, "email": "x@example.org", "password": "123"}
    )
    assert short.status_code == 422 and "password" in short.json()["detail"]
    bad_email = service.client().post("/api/v1/auth/signup", json={**body, "email": "not-an-address"})
    assert bad_email.status_code == 422


def test_password_is_stored_hashed(service):
    from sqlalchemy import select

    from ionscape.service.models import User

    alice = service.signup("alice")
    with service.sessions()() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == alice.user["id"]))
    assert stored.startswith("scrypt$") and PASSWORD not in stored


def test_csrf_token_required_for_cookie_writes(service):
    alice = service.signup("alice")
    token = alice.headers.pop("X-CSRF-Token")
    missing = alice.post("/api/v1/projects", json={"name": "p"})
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = alice.post("/api/v1/projects", json={"name": "p"}, headers={"X-CSRF-Token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert alice.get("/api/v1/projects").status_code == 200  # reads need no token
    assert (
        alice.post("/api/v1/projects", json={"name": "p"}, headers={"X-CSRF-Token": token}).status_code == 201
    )


def test_api_keys(service):
    alice = service.signup("alice")
    created = alice.post("/api/v1/auth/api-keys", json={"name": "laptop script"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("isk_")

    script = service.client()  # no cookies: API key only, no CSRF token needed
    assert script.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()["id"] == alice.user["id"]
    assert script.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    write = script.post("/api/v1/projects", json={"name": "from a script"}, headers={"X-API-Key": key})
    assert write.status_code == 201

    listed = alice.get("/api/v1/auth/api-keys").json()
    assert [k["name"] for k in listed] == ["laptop script"] and "key" not in listed[0]
    bad = script.get("/api/v1/auth/me", headers={"X-API-Key": key + "x"})
    assert bad.status_code == 401 and bad.json()["detail"] == "invalid API key"

    bob = service.signup("bob")
    assert bob.delete(f"/api/v1/auth/api-keys/{listed[0]['id']}").status_code == 404
    assert alice.delete(f"/api/v1/auth/api-keys/{listed[0]['id']}").status_code == 200
    assert script.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_errors_are_json_with_a_message(service):
    client = service.client()
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    anonymous = client.post("/api/v1/uploads", json={"files": []})
    assert anonymous.status_code == 401 and "sign in" in anonymous.json()["detail"]
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/datasets/{dataset_id}/annotations" in schema["paths"]
