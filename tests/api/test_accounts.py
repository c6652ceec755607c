"""Operators through the API served for real: logins, roles, sessions, and the audit log of who listened
to and exported what."""

from __future__ import annotations

import uuid

import pytest

from campaigns.operators import (
    MAX_FAILED_LOGINS,
    MAX_FAILED_LOGINS_PER_ADDRESS,
    LoginThrottled,
    OperatorError,
    OperatorStore,
    Role,
)
from tests.api.test_calls_api import answered_call

PASSWORD = "correct horse battery staple"


async def operator(db_pool, role: Role) -> str:
    name = f"{role.label}-{uuid.uuid4().hex[:6]}"
    await OperatorStore(db_pool).create(name, PASSWORD, role)
    return name


async def login(api, username: str, password: str = PASSWORD) -> str:
    status, body, _ = await api.post("/api/v1/session", json={"username": username, "password": password},
                                     token=None)
    assert status == 201, body
    return body["token"]


async def audited(db_pool, actor: str) -> list[tuple[str, str]]:
    entries = await OperatorStore(db_pool).audit_entries(actor=actor)
    return [(e["action"], e["target"]) for e in reversed(entries)]


async def test_a_viewer_watches_but_cannot_listen_export_or_change(api, db_pool, recordings_dir):
    attempt = await answered_call(db_pool, recordings_dir)
    viewer = await operator(db_pool, Role.VIEWER)
    token = await login(api, viewer)
    status, me, _ = await api.get("/api/v1/session", token=token)
    assert (status, me["username"], me["role"], me["machine"]) == (200, viewer, "viewer", False)
    status, calls, _ = await api.get("/api/v1/calls", token=token)
    assert status == 200 and str(attempt) in [c["id"] for c in calls["items"]]
    status, _, _ = await api.get(f"/api/v1/calls/{attempt}/transcript", token=token)
    assert status == 200
    for method, path in (("GET", f"/api/v1/calls/{attempt}/recording"), ("GET", "/api/v1/export/calls"),
                         ("POST", f"/api/v1/calls/{attempt}/reprocess"), ("GET", "/api/v1/webhooks"),
                         ("GET", "/api/v1/audit")):
        status, body, _ = await api.request(method, path, token=token)
        assert status == 403 and "role" in body["error"]["message"], (method, path, body)
    assert await audited(db_pool, viewer) == [("login", viewer)]  # nothing was listened to or exported


async def test_every_listen_and_export_is_audited_with_who_and_what(api, db_pool, recordings_dir):
    attempt = await answered_call(db_pool, recordings_dir)
    supervisor = await operator(db_pool, Role.SUPERVISOR)
    token = await login(api, supervisor)
    status, _, resp = await api.get(f"/api/v1/calls/{attempt}/recording", token=token)
    assert status == 200 and resp.content_type == "audio/wav"
    status, _, _ = await api.get("/api/v1/export/calls", params={"format": "xlsx", "outcome": "answered"},
                                 token=token)
    assert status == 200
    status, _, _ = await api.get("/api/v1/audit", token=token)
    assert status == 403  # the log is for admins
    assert await audited(db_pool, supervisor) == [
        ("login", supervisor), ("listen", str(attempt)), ("export", "outcome=answered format=xlsx")]

    # An integration's machine token is audited too, as such.
    status, _, _ = await api.get(f"/api/v1/calls/{attempt}/recording")
    assert status == 200
    admin = await operator(db_pool, Role.ADMIN)
    status, log, _ = await api.get("/api/v1/audit", params={"action": "listen"}, token=await login(api, admin))
    assert status == 200
    listens = [(e["actor"], e["target"]) for e in log["items"] if e["target"] == str(attempt)]
    assert listens == [("api-token", str(attempt)), (supervisor, str(attempt))]  # newest first
    assert all(e["remote"] == "127.0.0.1" for e in log["items"][:2])


async def test_wrong_passwords_logouts_and_disabled_operators(api, db_pool):
    store = OperatorStore(db_pool)
    name = await operator(db_pool, Role.SUPERVISOR)
    for who, password in ((name, "not the password"), ("nobody-here", PASSWORD)):
        status, body, _ = await api.post("/api/v1/session", json={"username": who, "password": password},
                                         token=None)
        assert (status, body["error"]["message"]) == (401, "wrong username or password")  # the same for both
    token = await login(api, name)
    status, out, _ = await api.request("DELETE", "/api/v1/session", token=token)
    assert status == 200 and out["logged_out"]
    status, _, _ = await api.get("/api/v1/calls", token=token)
    assert status == 401  # the token died with the session
    token = await login(api, name)
    await store.disable(name, by="test")
    status, _, _ = await api.get("/api/v1/calls", token=token)
    assert status == 401  # disabling ends the open sessions
    status, _, _ = await api.post("/api/v1/session", json={"username": name, "password": PASSWORD}, token=None)
    assert status == 401
    assert [a for a, _ in await audited(db_pool, name)] == ["login_failed", "login", "logout", "login",
                                                                "login_failed"]  # the disabled one's try


async def test_repeated_failures_lock_the_username_for_a_while(api, db_pool):
    name = await operator(db_pool, Role.VIEWER)
    for _ in range(MAX_FAILED_LOGINS):
        status, _, _ = await api.post("/api/v1/session", json={"username": name, "password": "guess guess guess"},
                                      token=None)
        assert status == 401
    status, _, resp = await api.post("/api/v1/session", json={"username": name, "password": PASSWORD},
                                        token=None)
    assert status == 429 and int(resp.headers["Retry-After"]) > 0  # even the right password, until it passes


async def test_admins_manage_operators_and_bad_accounts_are_refused(api, db_pool):
    admin_token = await login(api, await operator(db_pool, Role.ADMIN))
    name = f"ana-{uuid.uuid4().hex[:4]}"
    status, made, _ = await api.post("/api/v1/operators", json={"username": name, "password": PASSWORD,
                                                                 "role": "viewer"}, token=admin_token)
    assert status == 201 and made["role"] == "viewer"
    status, listed, _ = await api.get("/api/v1/operators", token=admin_token)
    assert name in [o["username"] for o in listed["items"]]
    assert all("password" not in key for o in listed["items"] for key in o)
    status, body, _ = await api.post("/api/v1/operators", json={"username": name, "password": PASSWORD,
                                                                "role": "admin"}, token=admin_token)
    assert status == 422 and "already exists" in body["error"]["message"]
    status, _, _ = await api.post(f"/api/v1/operators/{made['id']}/disable", token=admin_token)
    assert status == 200
    status, _, _ = await api.post("/api/v1/session", json={"username": name, "password": PASSWORD}, token=None)
    assert status == 401
    with pytest.raises(OperatorError, match="at least 12"):
        await OperatorStore(db_pool).create("short-pass", "abc", Role.VIEWER)
    with pytest.raises(OperatorError, match="lowercase letters"):
        await OperatorStore(db_pool).create("bad name!", PASSWORD, Role.VIEWER)


async def test_many_usernames_tried_from_one_address_lock_that_address(db_pool):
    store = OperatorStore(db_pool)
    name = await operator(db_pool, Role.VIEWER)
    remote = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    for i in range(MAX_FAILED_LOGINS_PER_ADDRESS):
        with pytest.raises(PermissionError):
            await store.login(f"guess-{i}", "whatever whatever", remote=remote)
    with pytest.raises(LoginThrottled, match="from this address"):
        await store.login(name, PASSWORD, remote=remote)  # even a real user with the right password
    _, who, _ = await store.login(name, PASSWORD, remote="203.0.113.7")  # from elsewhere: in
    assert who.actor == name
