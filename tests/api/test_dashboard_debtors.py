"""A supervisor finds a debtor in the dashboard (headless Chromium), reads why they are not called today,
and marks their promise kept; a viewer finds them too but may not. Screenshots in tests/artifacts/accounts/."""

from __future__ import annotations

import asyncio

from campaigns.operators import Role
from tests.api.test_accounts import PASSWORD, operator
from tests.api.test_dashboard_login import ARTIFACTS
from tests.api.test_debtors_api import a_debtor_with_a_promise
from tests.browser import chromium


def _work_the_debtor(url: str, username: str, query: str, debtor_id: int, mark: bool) -> dict[str, object]:
    row = f'[data-testid="debtor-row"][data-debtor-id="{debtor_id}"]'
    detail = '[data-testid="debtor-detail"]'
    with chromium(artifacts=ARTIFACTS) as b:
        b.open(f"{url}/dashboard")
        b.find('[data-testid="login-username"]').send_keys(username)
        b.find('[data-testid="login-password"]').send_keys(PASSWORD)
        b.click('[data-testid="login-submit"]')
        b.wait_for_text('[data-testid="who"]', username)
        b.find('[data-testid="debtor-q"]').send_keys(query)
        b.click('[data-testid="debtor-search-submit"]')
        b.click(row)
        b.wait_for(f'{detail}[data-state="ready"][data-loaded-id="{debtor_id}"]')
        why = [e.text for e in b.find_all(f'{detail} [data-testid="debtor-why"] li')]
        promise = f'{detail} [data-testid="promise"]'
        b.wait_for(f'{promise}[data-status="open"]')
        b.click(f'{promise} [data-testid="promise-kept"]')
        if mark:
            b.wait_for(f'{promise}[data-status="kept"]')
            error = ""
        else:
            error = b.wait_for(f'{detail} [data-testid="debtor-error"]').text
        shot = b.screenshot(f"debtor-page-as-{username.split('-')[0]}")
        return {"why": why, "promise": b.find(promise).get_attribute("data-status"), "error": error, "shot": shot}


async def test_a_supervisor_finds_a_debtor_and_marks_the_promise_kept(api, db_pool):
    desk, _, _ = await a_debtor_with_a_promise(db_pool)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT full_name FROM debtors WHERE id = %s", (desk.debtor_id,))
        (name,) = await cur.fetchone()
    query = "nandu " + name.split()[-1].lower()  # without the accents, as people type

    viewer = await operator(db_pool, Role.VIEWER)
    seen = await asyncio.to_thread(_work_the_debtor, api.base, viewer, query, desk.debtor_id, False)
    assert seen["error"] == "Su rol no permite esta acción." and seen["promise"] == "open", seen
    assert any(desk.campaign.name in line for line in seen["why"]), seen  # the policy's verdict, per campaign

    supervisor = await operator(db_pool, Role.SUPERVISOR)
    seen = await asyncio.to_thread(_work_the_debtor, api.base, supervisor, query, desk.debtor_id, True)
    assert seen["promise"] == "kept", seen
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT status, settled_by FROM promises WHERE debtor_id = %s", (desk.debtor_id,))
        assert await cur.fetchall() == [("kept", supervisor)]
