"""A supervisor finds a debtor in the dashboard (headless Chromium), reads why they are not called today,
marks their promise kept, puts their job back in the queue and excludes them; a viewer finds them too
but may not. Screenshots in tests/artifacts/accounts/."""

from __future__ import annotations

import asyncio

from campaigns.operators import Role
from tests.api.test_accounts import operator
from tests.api.test_dashboard_login import ARTIFACTS, log_in
from tests.api.test_debtors_api import a_debtor_with_a_promise
from tests.browser import chromium


def _work_the_debtor(url: str, username: str, query: str, debtor_id: int, mark: bool) -> dict[str, object]:
    row = f'[data-testid="debtor-row"][data-debtor-id="{debtor_id}"]'
    detail = '[data-testid="debtor-detail"]'
    with chromium(artifacts=ARTIFACTS) as b:
        log_in(b, url, username)
        b.find('[data-testid="debtor-q"]').send_keys(query)
        b.click('[data-testid="debtor-search-submit"]')
        b.click(row)
        b.wait_for(f'{detail}[data-state="ready"][data-loaded-id="{debtor_id}"]')
        why = [e.text for e in b.find_all(f'{detail} [data-testid="debtor-why"] li')]
        promise = f'{detail} [data-testid="promise"]'
        b.wait_for(f'{promise}[data-status="open"]')
        b.click(f'{promise} [data-testid="promise-kept"]')
        jobs = []
        if mark:
            b.wait_for(f'{promise}[data-status="kept"]')
            error = ""
            job = f'{detail} [data-testid="job"]'
            b.click(f'{job} [data-testid="job-requeue"]')  # back in the queue, due now
            b.wait_for(f'{job}[data-state="queued"]')
            b.find('[data-testid="debtor-exclude-reason"]').send_keys("pagó por otra vía")
            b.click('[data-testid="debtor-exclude"]')
            b.wait_for(f'{job}[data-state="cancelled"]')  # excluding cancels what was queued
            jobs = [e.get_attribute("data-state") for e in b.find_all(job)]
        else:
            error = b.wait_for(f'{detail} [data-testid="debtor-error"]').text
        facts = b.find(f'{detail} [data-testid="debtor-facts"]').text
        shot = b.screenshot(f"debtor-page-as-{username.split('-')[0]}")
        return {"why": why, "promise": b.find(promise).get_attribute("data-status"), "error": error, "shot": shot,
                "jobs": jobs, "facts": facts}


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
    assert seen["promise"] == "kept" and seen["jobs"] == ["cancelled"], seen
    assert "Excluido (pagó por otra vía" in seen["facts"], seen
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT status, settled_by FROM promises WHERE debtor_id = %s", (desk.debtor_id,))
        assert await cur.fetchall() == [("kept", supervisor)]
        cur = await conn.execute("SELECT exclusion_reason FROM debtors WHERE id = %s", (desk.debtor_id,))
        assert (await cur.fetchone())[0] == f"pagó por otra vía ({supervisor})"
