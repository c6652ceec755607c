"""A debtor's page through the API on a real PostgreSQL: found by RUT, phone or name; their calls,
promises, phones and the policy's verdict; and what a supervisor does from there."""

from __future__ import annotations

import random
import string
import uuid
from datetime import date, timedelta

from campaigns.actions import CallActions
from campaigns.operators import Role
from tests.api.test_accounts import login, operator
from tests.campaigns.test_actions import _answered_call, _hang_up
from tests.campaigns.test_contacts import Desk


async def a_debtor_with_a_promise(db_pool) -> tuple[Desk, uuid.UUID, int]:
    desk = await Desk.open(db_pool, f"Empresa {uuid.uuid4().hex[:8]}")
    name = "Ñandú Pérez " + "".join(random.choices(string.ascii_lowercase, k=8)).capitalize()
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET full_name = %s, amount_owed = 185000, max_date = %s WHERE id = %s",
                           (name, date.today() + timedelta(days=30), desk.debtor_id))
    await desk.wave()
    job, ctx = await _answered_call(desk)
    promise = await CallActions(db_pool).register_promise(ctx, promised_date=date.today() + timedelta(days=5),
                                                           amount=185000, today=date.today())
    await _hang_up(desk, job, ctx)  # the call ends and its job is settled
    return desk, ctx.attempt_id, promise


async def test_a_debtor_is_found_by_rut_phone_or_name_and_their_page_says_why(api, db_pool):
    desk, attempt, _ = await a_debtor_with_a_promise(db_pool)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT national_id, full_name FROM debtors WHERE id = %s", (desk.debtor_id,))
        national_id, name = await cur.fetchone()
        cur = await conn.execute("SELECT e164 FROM phones WHERE debtor_id = %s ORDER BY position", (desk.debtor_id,))
        (phone, *_) = [r[0] for r in await cur.fetchall()]
    rut_typed = f"{int(national_id.split('-')[0]):,}".replace(",", ".") + "-" + national_id.split("-")[1]
    for q in (rut_typed, phone[-6:], f"+{phone[1:3]} {phone[3:]}", "ñandú " + name.split()[-1].upper()):
        status, found, _ = await api.get("/api/v1/debtors", params={"q": q})
        assert status == 200 and [d["id"] for d in found["items"]] == [desk.debtor_id], q
        assert national_id not in str(found)  # masked
    status, found, _ = await api.get("/api/v1/debtors", params={"q": "100%"})
    assert status == 200 and desk.debtor_id not in [d["id"] for d in found["items"]]

    status, page, _ = await api.get(f"/api/v1/debtors/{desk.debtor_id}")
    assert status == 200 and page["full_name"] == name and national_id not in str(page)
    assert phone not in str(page) and len(page["phones"]) == 2
    assert [c["id"] for c in page["calls"]] == [str(attempt)] and page["calls"][0]["result"] == "promise"
    assert [p["status"] for p in page["promises"]] == ["open"]
    (why,) = page["why_not_called"]
    # The promise is open: the policy holds the debtor back until its date, and says so.
    assert why["campaign"] == desk.campaign.name and not why["callable_now"] and why["reason"], why


async def test_a_supervisor_works_the_debtor_and_a_viewer_cannot(api, db_pool):
    desk, _, promise_id = await a_debtor_with_a_promise(db_pool)
    viewer = await login(api, await operator(db_pool, Role.VIEWER))
    supervisor_name = await operator(db_pool, Role.SUPERVISOR)
    supervisor = await login(api, supervisor_name)
    status, page, _ = await api.get(f"/api/v1/debtors/{desk.debtor_id}", token=viewer)
    assert status == 200
    phone_id, job_id = page["phones"][0]["id"], page["jobs"][0]["id"]
    actions = [(f"/api/v1/promises/{promise_id}/mark", {"status": "kept"}),
               (f"/api/v1/debtors/{desk.debtor_id}/phones/{phone_id}/do-not-call", {"reason": "pidió no llamar"}),
               (f"/api/v1/debtors/{desk.debtor_id}/jobs/{job_id}/requeue", None),
               (f"/api/v1/debtors/{desk.debtor_id}/exclude", {"reason": "fallecido"})]
    for path, body in actions:
        status, _, _ = await api.post(path, json=body, token=viewer)
        assert status == 403, path
    status, marked, _ = await api.post(actions[0][0], json=actions[0][1], token=supervisor)
    assert status == 200 and (marked["status"], marked["was"]) == ("kept", "open")
    status, again, _ = await api.post(actions[0][0], json={"status": "broken"}, token=supervisor)
    assert status == 409 and "kept" in again["error"]["message"]
    status, _, _ = await api.post(actions[1][0], json=actions[1][1], token=supervisor)
    assert status == 200
    status, requeued, _ = await api.post(actions[2][0], token=supervisor)
    assert status == 200 and requeued["state"] == "queued"
    status, excluded, _ = await api.post(actions[3][0], json=actions[3][1], token=supervisor)
    assert status == 200 and excluded["jobs_cancelled"] == 1  # the job just requeued

    status, page, _ = await api.get(f"/api/v1/debtors/{desk.debtor_id}", token=viewer)
    assert page["promises"][0]["status"] == "kept" and page["promises"][0]["settled_by"] == supervisor_name
    assert page["phones"][0]["do_not_call"].startswith("pidió no llamar")
    assert page["excluded_at"] is not None and page["exclusion_reason"] == f"fallecido ({supervisor_name})"
    assert page["why_not_called"][0]["verdict"] == "excluded"
    status, _, _ = await api.post(f"/api/v1/debtors/{desk.debtor_id}/phones/999999999/do-not-call",
                                  json={"reason": "x y"}, token=supervisor)
    assert status == 404
