"""After the conversation: what holds a debtor's calls back, and what a broken promise becomes.

Three rules, applied by the wave planner's set-based SQL (`campaigns.planner`) and again at dial
time by the contact policy (`ContactPolicy._held`, fed by `load_holds`), so that a job queued before
the conversation that changed things is held too:

- An open promise (`promises.status = 'open'`) holds the debtor's calls through its date and the
  campaign's `promise_grace_days`. An instalment plan's date is its first instalment's.
- A promise still open after that is broken: the next wave that may call the debtor queues a job
  whose purpose is `promise_reminder` (naming the promise) and marks the promise broken, in the
  wave's transaction. A unique index allows one reminder per promise, so of two planners racing
  only one reminds and marks. A person marks a promise kept (the payment arrived) or broken with
  `mark_promise` (`python -m campaigns promise-kept`): a kept promise is never reminded, and a
  reminder still queued for it is cancelled.
- A debtor whose last conversation ended `already_paid` or `dispute` waits for a person: held until
  that call's follow-up in the ready-for-human queue (`call_analyses`, closed by
  `POST /api/v1/followups/{id}/close`) is closed, or its analysis found no person is needed. The
  table is read here in SQL: `campaigns` does not import `analysis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent.vocabulary import CallResult
from campaigns.policy import OpenPromise, WaitingForHuman
from campaigns.queue import JobPurpose

# The results a person must take up before the debtor is called again: a payment to verify, a
# debt to review. Calling meanwhile only repeats the question they already answered.
WAITING_FOR_HUMAN = (CallResult.ALREADY_PAID, CallResult.DISPUTE)

# Results of calls answered by someone else: they say nothing of what the debtor said last.
NOT_THE_DEBTOR = (CallResult.WRONG_NUMBER, CallResult.THIRD_PARTY)

# Parameters every statement using WAITING_FOR_HUMAN_SQL passes.
WAITING_PARAMS = {"waiting_results": [str(r) for r in WAITING_FOR_HUMAN],
                  "not_the_debtor": [str(r) for r in NOT_THE_DEBTOR]}

# The calls `a` that leave their debtor waiting for a person: the debtor's last conversation ended on
# one of WAITING_FOR_HUMAN (a later call answered by someone else does not count: NOT_THE_DEBTOR),
# and its follow-up is neither closed nor found unneeded by the analysis; until the analysis has run
# (or when it failed) the debtor waits. One definition for the planner and the dial-time gate.
WAITING_FOR_HUMAN_SQL = """
    a.result = ANY (%(waiting_results)s::text[]) AND a.debtor_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM call_analyses an WHERE an.attempt_id = a.id
                      AND (an.closed_at IS NOT NULL OR (an.status = 'done' AND NOT an.needs_human)))
    AND NOT EXISTS (SELECT 1 FROM call_attempts later WHERE later.debtor_id = a.debtor_id
                      AND later.created_at > a.created_at AND later.result IS NOT NULL
                      AND later.result <> ALL (%(not_the_debtor)s::text[]))
"""

# Who may become what: a payment arriving late still keeps a broken promise.
_TRANSITIONS = {"kept": ("open", "broken"), "broken": ("open",), "cancelled": ("open",)}


class PromiseError(ValueError):
    """No such promise, or it cannot change as asked (an operator's mistake)."""


@dataclass(frozen=True, slots=True)
class PromiseRow:
    id: int
    debtor_id: int
    promised_date: date
    amount: Decimal
    installments: int | None
    status: str
    created_at: datetime
    settled_at: datetime | None
    settled_by: str

    def line(self) -> str:
        plan = f" in {self.installments} instalments from" if self.installments and self.installments > 1 else " on"
        settled = f" ({self.settled_by or 'unknown'}, {self.settled_at:%Y-%m-%d})" if self.settled_at else ""
        return f"promise #{self.id} {self.status}{settled}: {self.amount}{plan} {self.promised_date}"


@dataclass(frozen=True, slots=True)
class PromiseMarked:
    promise: PromiseRow
    previous_status: str
    reminders_cancelled: int


async def load_holds(conn: psycopg.AsyncConnection, debtor_id: int) -> tuple[list[OpenPromise], WaitingForHuman | None]:
    """The debtor's open promises, and the call whose follow-up they wait for (None: none)."""
    cur = await conn.execute(
        "SELECT id, promised_date FROM promises WHERE debtor_id = %s AND status = 'open' ORDER BY promised_date, id",
        (debtor_id,))
    promises = [OpenPromise(i, d) for i, d in await cur.fetchall()]
    # The SQL is this module's constant; the values are parameters.
    cur = await conn.execute(
        f"""SELECT a.id, a.result, a.created_at FROM call_attempts a
             WHERE a.debtor_id = %(debtor)s AND {WAITING_FOR_HUMAN_SQL}
             ORDER BY a.created_at DESC LIMIT 1""", {"debtor": debtor_id, **WAITING_PARAMS})
    row = await cur.fetchone()
    return promises, (WaitingForHuman(str(row[0]), row[1], row[2]) if row else None)


async def promises_of(conn: psycopg.AsyncConnection, debtor_id: int, *, limit: int = 10) -> list[PromiseRow]:
    """The debtor's promises, newest first."""
    cur = await conn.execute(
        """SELECT id, debtor_id, promised_date, amount, installments, status, created_at, settled_at, settled_by
             FROM promises WHERE debtor_id = %s ORDER BY id DESC LIMIT %s""", (debtor_id, limit))
    return [PromiseRow(*row) for row in await cur.fetchall()]


async def pick_promise(pool: AsyncConnectionPool, debtor_ids: list[int], status: str) -> int:
    """The promise of these debtors (one national id) a person means to mark `status`: the open one,
    or, to mark kept, the latest broken one when none is open. Ambiguity is an error naming the ids."""
    wanted = _TRANSITIONS.get(status)
    if wanted is None:
        raise PromiseError(f"a promise can be marked {', '.join(_TRANSITIONS)}, not {status!r}")
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT id, status FROM promises WHERE debtor_id = ANY (%s) AND status = ANY (%s)
                ORDER BY id DESC""", (debtor_ids, list(wanted)))
        rows = await cur.fetchall()
    open_ids = [i for i, s in rows if s == "open"]
    if len(open_ids) > 1:
        raise PromiseError(f"several open promises ({', '.join(f'#{i}' for i in open_ids)}): give one with --id")
    if open_ids:
        return open_ids[0]
    if rows:
        return rows[0][0]  # the latest broken one (kept only)
    raise PromiseError(f"no promise that can be marked {status} (statuses {', '.join(wanted)})")


async def mark_promise(pool: AsyncConnectionPool, promise_id: int, status: str, *, by: str = "operator") -> PromiseMarked:
    """A person says a promise was kept (or broken, or withdrawn), in one transaction. Marking it kept
    cancels a reminder still queued for it; one being dialed right now is let be."""
    allowed_from = _TRANSITIONS.get(status)
    if allowed_from is None:
        raise PromiseError(f"a promise can be marked {', '.join(_TRANSITIONS)}, not {status!r}")
    async with pool.connection() as conn, conn.transaction():
        # The row lock orders this with a wave marking the same promise broken.
        cur = await conn.execute("SELECT status FROM promises WHERE id = %s FOR UPDATE", (promise_id,))
        row = await cur.fetchone()
        if row is None:
            raise PromiseError(f"no promise #{promise_id}")
        (previous,) = row
        if previous not in allowed_from:
            raise PromiseError(f"promise #{promise_id} is {previous}: it cannot be marked {status}")
        cur = await conn.execute(
            """UPDATE promises SET status = %s, settled_at = now(), settled_by = %s WHERE id = %s
           RETURNING id, debtor_id, promised_date, amount, installments, status, created_at, settled_at, settled_by""",
            (status, by, promise_id))
        promise = PromiseRow(*await cur.fetchone())
        cancelled: list[Any] = []
        if status == "kept":
            cur = await conn.execute(
                """UPDATE call_jobs SET state = 'cancelled', reason = 'promise_kept', updated_at = now()
                    WHERE promise_id = %s AND purpose = %s AND state = 'queued' RETURNING id, campaign_id""",
                (promise_id, JobPurpose.PROMISE_REMINDER))
            cancelled = await cur.fetchall()
            for job_id, campaign_id in cancelled:
                await conn.execute(
                    """INSERT INTO contact_decisions (campaign_id, debtor_id, job_id, decision, reason, detail)
                       VALUES (%s, %s, %s, 'done', 'promise_kept', %s)""",
                    (campaign_id, promise.debtor_id, job_id, Jsonb({"promise_id": promise_id})))
    return PromiseMarked(promise, previous, len(cancelled))
