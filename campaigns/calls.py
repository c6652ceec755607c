"""The record of every call: attempts (one row per call leg we place or answer) and their events.

An outbound attempt row is written *before* the originate request, so a crash between the two
can never hide the fact that a call may have been placed (the contact limits count it).
Opening and closing an attempt emit the call_started and call_ended webhooks in the same transaction.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from campaigns.webhooks.events import call_summary, emit

# An attempt still open after this long was left by a crash (a node's start-up sweep closes its own well
# before): it no longer counts as a call up, neither for the trunk's channels nor for the person.
STALE_OPEN_ATTEMPT = timedelta(hours=2)


async def enqueue_analysis(conn: AsyncConnection[Any], attempt_id: uuid.UUID) -> None:
    """Queue the analysis of an answered call, on the caller's transaction (idempotent). The queue's
    other end (claims, results, the ready-for-human queue) is `analysis.store`."""
    await conn.execute("INSERT INTO call_analyses (attempt_id) VALUES (%s) ON CONFLICT DO NOTHING", (attempt_id,))

class CallOutcome(enum.StrEnum):
    """What happened to a call, in the terms the contact policy reasons with."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    VOICEMAIL = "voicemail"
    SILENT = "silent"  # answered, but no audio ever arrived: a media fault, not the debtor's doing


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: uuid.UUID
    direction: Direction
    channel_id: str
    state: str
    outcome: CallOutcome | None
    hangup_cause: int | None
    hangup_cause_txt: str | None
    dial_status: str | None
    remote_number: str
    local_number: str
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    metrics: dict[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CallRecord:
        return cls(
            id=row["id"],
            direction=Direction(row["direction"]),
            channel_id=row["channel_id"],
            state=row["state"],
            outcome=CallOutcome(row["outcome"]) if row["outcome"] else None,
            hangup_cause=row["hangup_cause"],
            hangup_cause_txt=row["hangup_cause_txt"],
            dial_status=row["dial_status"],
            remote_number=row["remote_number"],
            local_number=row["local_number"],
            created_at=row["created_at"],
            answered_at=row["answered_at"],
            ended_at=row["ended_at"],
            metrics=row["metrics"],
        )


@dataclass(frozen=True, slots=True)
class CallEvent:
    at: datetime
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallLine:
    """One line of a call's transcript (migration 0008): offsets in ms from the call's answer."""

    speaker: str  # 'agent' | 'caller'
    text: str
    start_ms: int
    end_ms: int
    source: str = ""  # '' | 'stt' | 'dtmf' | 'tts'
    interrupted: bool = False


class CallLog:
    """Writes and reads call attempts and their events. All SQL is parameterised."""

    def __init__(self, pool: AsyncConnectionPool, *, node: str | None = None) -> None:
        self._pool = pool
        # The process (node) whose attempts these are: written on each attempt opened, so that a
        # restarting node closes only its own orphans, never a live call of another process.
        self.node = node

    async def open_attempt(
        self,
        *,
        attempt_id: uuid.UUID,
        direction: Direction,
        channel_id: str,
        remote_number: str = "",
        local_number: str = "",
        endpoint: str = "",
        job_id: int | None = None,
        campaign_id: int | None = None,
        debtor_id: int | None = None,
        phone_id: int | None = None,
    ) -> None:
        state = "dialing" if direction is Direction.OUTBOUND else "ringing"
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO call_attempts (id, direction, channel_id, remote_number, local_number, endpoint,
                                              job_id, campaign_id, debtor_id, phone_id, state, node)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (attempt_id, direction.value, channel_id, remote_number, local_number, endpoint,
                 job_id, campaign_id, debtor_id, phone_id, state, self.node),
            )
            await conn.execute(
                "INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, %s, %s)",
                (attempt_id, "attempt_opened", Jsonb({"direction": direction.value, "endpoint": endpoint})),
            )
            # The webhook is written with the attempt: an attempt that was never recorded is never announced.
            summary = call_summary(attempt_id, direction=direction.value, remote_number=remote_number,
                                   debtor_id=debtor_id, campaign_id=campaign_id, job_id=job_id,
                                   phone_id=phone_id)
            await emit(conn, "call_started", {"call": summary}, call_key=attempt_id)

    async def add_event(self, attempt_id: uuid.UUID, kind: str, data: Mapping[str, Any] | None = None) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, %s, %s)",
                (attempt_id, kind, Jsonb(dict(data or {}))),
            )

    async def mark_answered(self, attempt_id: uuid.UUID) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_attempts SET state = 'answered', answered_at = coalesce(answered_at, now())
                   WHERE id = %s AND state <> 'ended'""",
                (attempt_id,),
            )

    async def close_attempt(
        self,
        attempt_id: uuid.UUID,
        *,
        outcome: CallOutcome,
        hangup_cause: int | None,
        hangup_cause_txt: str | None,
        dial_status: str | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record how the call ended. Idempotent: only the first close of an attempt counts."""
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """UPDATE call_attempts
                      SET state = 'ended', ended_at = now(), outcome = %s, hangup_cause = %s,
                          hangup_cause_txt = %s, dial_status = %s, metrics = metrics || %s
                    WHERE id = %s AND state <> 'ended'
                RETURNING direction, remote_number, debtor_id, campaign_id, job_id, phone_id, result,
                          created_at, answered_at, ended_at, cost, cost_detail->>'currency',
                          recording_path IS NOT NULL""",
                (outcome.value, hangup_cause, hangup_cause_txt, dial_status, Jsonb(dict(metrics or {})),
                 attempt_id),
            )
            row = await cur.fetchone()
            if row is None:
                return False
            await conn.execute(
                "INSERT INTO call_events (attempt_id, kind, data) VALUES (%s, %s, %s)",
                (attempt_id, "attempt_closed",
                 Jsonb({"outcome": outcome.value, "cause": hangup_cause, "cause_txt": hangup_cause_txt})),
            )
            await emit(conn, "call_ended", _ended_payload(attempt_id, outcome, hangup_cause, row),
                       call_key=attempt_id)
            if outcome is CallOutcome.ANSWERED:  # queued with the close: no answered call goes unanalysed
                await enqueue_analysis(conn, attempt_id)
            return True

    async def get(self, attempt_id: uuid.UUID) -> CallRecord | None:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM call_attempts WHERE id = %s", (attempt_id,))
            row = await cur.fetchone()
        return CallRecord.from_row(row) if row else None

    async def events(self, attempt_id: uuid.UUID) -> list[CallEvent]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT at, kind, data FROM call_events WHERE attempt_id = %s ORDER BY id", (attempt_id,)
            )
            return [CallEvent(r["at"], r["kind"], r["data"]) for r in await cur.fetchall()]

    async def open_attempts(self) -> list[CallRecord]:
        """This node's attempts not yet ended (and those written before attempts had a node): what a
        restarted process must reconcile with Asterisk's live channels. Without a node, all of them."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("""SELECT * FROM call_attempts
                                  WHERE state <> 'ended' AND (%(node)s::text IS NULL OR node IS NULL OR node = %(node)s)
                                  ORDER BY created_at""", {"node": self.node})
            return [CallRecord.from_row(r) for r in await cur.fetchall()]

    async def latest(self, direction: Direction, limit: int = 10) -> list[CallRecord]:
        """The most recent attempts in one direction, newest first."""
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT * FROM call_attempts WHERE direction = %s ORDER BY created_at DESC LIMIT %s",
                (direction.value, limit),
            )
            return [CallRecord.from_row(r) for r in await cur.fetchall()]

    async def add_turn(self, attempt_id: uuid.UUID, turn: Mapping[str, Any]) -> None:
        """Store one conversation turn (the dict of `media.conversation.TurnMetrics.as_dict`, with the
        caller's `sentiment` and `frustrated` when the turn was scored)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                """INSERT INTO call_turns (attempt_id, idx, user_text, confidence, stt_final_ms,
                                           agent_first_output_ms, tts_first_audio_ms, first_rtp_out_ms,
                                           voice_to_voice_ms, agent_planned, agent_spoken, interrupted,
                                           turn_rule, tool_calls, stt_speculative, sentiment, frustrated,
                                           heard_raw, stt_doubts)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (attempt_id, turn["index"], turn["user_text"], turn["confidence"], turn["stt_final_ms"],
                 turn["agent_first_output_ms"], turn["tts_first_audio_ms"], turn["first_rtp_out_ms"],
                 turn["voice_to_voice_ms"], turn["agent_planned"], turn["agent_spoken"], turn["interrupted"],
                 turn["turn_rule"], Jsonb(list(turn["tool_calls"])), turn["stt_speculative"],
                 turn.get("sentiment"), turn.get("frustrated"), turn.get("heard_raw"),
                 Jsonb(list(turn.get("stt_doubts") or ()))),
            )

    async def sentiment_alert(self, attempt_id: uuid.UUID, reasons: Sequence[str],
                              payload: Mapping[str, Any]) -> bool:
        """Emit a `sentiment_alert` raised during the call (`payload`: its fields, the call's summary
        added here) and record its `reasons` on the call, in one transaction. Nothing is emitted when
        an alert already went out for any of these reasons (`call_attempts.sentiment_alerts`, which
        the post-call analysis reads too): True when it was emitted."""
        if not reasons:
            raise ValueError("a sentiment alert needs its reasons")
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                """UPDATE call_attempts SET sentiment_alerts = sentiment_alerts || %(reasons)s::text[]
                    WHERE id = %(id)s AND NOT sentiment_alerts && %(reasons)s::text[]
                RETURNING direction, remote_number, debtor_id, campaign_id, job_id, phone_id""",
                {"id": attempt_id, "reasons": list(reasons)})
            row = await cur.fetchone()
            if row is None:
                return False
            direction, remote, debtor_id, campaign_id, job_id, phone_id = row
            summary = call_summary(attempt_id, direction=direction, remote_number=remote, debtor_id=debtor_id,
                                   campaign_id=campaign_id, job_id=job_id, phone_id=phone_id)
            await emit(conn, "sentiment_alert", {"call": summary, **payload, "reasons": list(reasons)},
                       call_key=attempt_id)
            return True

    async def add_lines(self, attempt_id: uuid.UUID, lines: Sequence[CallLine]) -> None:
        """Append transcript lines, as heard (`call_lines`)."""
        if not lines:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source, interrupted)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                [(attempt_id, x.speaker, x.text, x.start_ms, x.end_ms, x.source, x.interrupted) for x in lines],
            )

    async def lines(self, attempt_id: uuid.UUID) -> list[CallLine]:
        """The call's transcript in the order it was heard."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                """SELECT speaker, text, start_ms, end_ms, source, interrupted FROM call_lines
                    WHERE attempt_id = %s ORDER BY start_ms, id""", (attempt_id,))
            return [CallLine(*row) for row in await cur.fetchall()]

    async def record_results(self, attempt_id: uuid.UUID, *, recording_path: str | None, recording_ms: int | None,
                             usage: Mapping[str, Any], cost: Decimal | None,
                             cost_detail: Mapping[str, Any]) -> None:
        """The recording's key in the recording store, the call's usage and its cost; called before
        `close_attempt`, so the call_ended webhook carries them."""
        async with self._pool.connection() as conn:
            await conn.execute(
                """UPDATE call_attempts SET recording_path = %s, recording_ms = %s, usage = %s, cost = %s,
                          cost_detail = %s
                    WHERE id = %s""",
                (recording_path, recording_ms, Jsonb(dict(usage)), cost, Jsonb(dict(cost_detail)), attempt_id),
            )

    async def turns(self, attempt_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM call_turns WHERE attempt_id = %s ORDER BY idx", (attempt_id,))
            return list(await cur.fetchall())


def _ended_payload(attempt_id: uuid.UUID, outcome: CallOutcome, hangup_cause: int | None,
                   row: tuple[Any, ...]) -> dict[str, Any]:
    """The call_ended webhook: how it ended, what it achieved, how long it lasted (ringing included)."""
    direction, remote, debtor_id, campaign_id, job_id, phone_id, result, created, answered, ended = row[:10]
    cost, currency, recorded = row[10:13]
    return {
        "call": call_summary(attempt_id, direction=direction, remote_number=remote, debtor_id=debtor_id,
                             campaign_id=campaign_id, job_id=job_id, phone_id=phone_id),
        "outcome": outcome.value,
        "result": result,
        "hangup_cause": hangup_cause,
        "started_at": created,
        "answered_at": answered,
        "ended_at": ended,
        "duration_s": round((ended - created).total_seconds(), 1),
        "talk_s": round((ended - answered).total_seconds(), 1) if answered else None,
        "cost": {"amount": cost, "currency": currency} if cost is not None else None,
        "recording": recorded,
    }
