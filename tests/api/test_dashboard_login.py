"""An operator logs in to the dashboard in headless Chromium with a username and password; what the
role allows shows: a supervisor plays a call's recording (and the listen is audited), a viewer reads
the transcript and is told the role does not allow listening. Screenshots in tests/artifacts/accounts/."""

from __future__ import annotations

import asyncio
from pathlib import Path

from campaigns.operators import OperatorStore, Role
from tests.api.test_accounts import PASSWORD, operator
from tests.api.test_calls_api import answered_call
from tests.browser import Browser, chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "accounts"


def log_in(b: Browser, url: str, username: str, password: str = PASSWORD) -> str:
    """Open the dashboard and log in with the form; what the page then says of who is in."""
    b.open(f"{url}/dashboard")
    b.wait_for('[data-testid="login-form"]')
    b.find('[data-testid="login-username"]').send_keys(username)
    b.find('[data-testid="login-password"]').send_keys(password)
    b.click('[data-testid="login-submit"]')
    return b.wait_for_text('[data-testid="who"]', username).text


def _log_in_and_open(url: str, username: str, password: str, attempt: str) -> dict[str, object]:
    call = f'[data-testid="call-row"][data-call-id="{attempt}"]'
    detail = '[data-testid="call-detail"]'
    with chromium(artifacts=ARTIFACTS) as b:
        who = log_in(b, url, username, password)
        b.click(call)
        b.wait_for(f'{detail}[data-state="ready"][data-loaded-id="{attempt}"]')
        b.wait_count(f'{detail} [data-testid="transcript-line"]', 2)
        audio = b.wait_until(lambda: (e := b.find(f'{detail} [data-testid="recording-audio"]'))
                             .get_attribute("data-state") in ("ready", "none", "error") and e,
                             "the recording's state")
        note = b.find(f'{detail} [data-testid="recording-note"]').text
        shot = b.screenshot(f"dashboard-as-{username.split('-')[0]}")
        return {"who": who, "audio": audio.get_attribute("data-state"), "note": note, "shot": shot,
                "errors": b.console_errors()}


def _wrong_password(url: str, username: str) -> str:
    with chromium(artifacts=ARTIFACTS) as b:
        b.open(f"{url}/dashboard")
        b.find('[data-testid="login-username"]').send_keys(username)
        b.find('[data-testid="login-password"]').send_keys("not the password")
        b.click('[data-testid="login-submit"]')
        return b.wait_for('[data-testid="login-error"]').text


async def test_operators_log_in_and_see_what_their_role_allows(api, db_pool, recordings_dir):
    attempt = str(await answered_call(db_pool, recordings_dir))
    supervisor, viewer = await operator(db_pool, Role.SUPERVISOR), await operator(db_pool, Role.VIEWER)

    seen = await asyncio.to_thread(_log_in_and_open, api.base, supervisor, PASSWORD, attempt)
    assert seen["who"] == f"{supervisor} (supervisor)" and seen["audio"] == "ready", seen
    listens = await OperatorStore(db_pool).audit_entries(actor=supervisor, action="listen")
    assert [e["target"] for e in listens] == [attempt]

    seen = await asyncio.to_thread(_log_in_and_open, api.base, viewer, PASSWORD, attempt)
    assert seen["audio"] == "none" and seen["note"] == "Su rol no permite escuchar grabaciones.", seen
    assert await OperatorStore(db_pool).audit_entries(actor=viewer, action="listen") == []

    assert await asyncio.to_thread(_wrong_password, api.base, viewer) == "Usuario o contraseña incorrectos."
