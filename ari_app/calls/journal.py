"""A call's journal: its events, written to PostgreSQL in the order they happened.

ARI events reach a call synchronously (the router must never wait on the database), so they are
queued here and written by one task, which starts once the attempt row exists: events that came
before it are written then, still in order. The call's transcript lines travel the same way.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from campaigns.calls import CallLine, CallLog

log = logging.getLogger(__name__)


class CallJournal:
    def __init__(self, call_log: CallLog, attempt_id: uuid.UUID, name: str) -> None:
        self._call_log = call_log
        self._attempt_id = attempt_id
        self._name = name
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]] | CallLine | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def record(self, kind: str, data: dict[str, Any] | None = None) -> None:
        self._queue.put_nowait((kind, data or {}))

    def line(self, line: CallLine) -> None:
        """Queue a line of the call's transcript."""
        self._queue.put_nowait(line)

    def start(self) -> None:
        """The attempt row exists: write what is queued, and what follows."""
        self._task = asyncio.create_task(self._write(), name=f"journal-{self._name}")

    async def close(self) -> None:
        """Write what is left, then stop."""
        self._queue.put_nowait(None)
        if self._task is not None:
            await self._task

    async def _write(self) -> None:
        while (item := await self._queue.get()) is not None:
            try:
                if isinstance(item, CallLine):
                    await self._call_log.add_lines(self._attempt_id, [item])
                else:
                    await self._call_log.add_event(self._attempt_id, *item)
            except Exception:  # a lost journal line must not kill the call
                log.exception("%s: could not store %s", self._name,
                              f"event {item[0]}" if isinstance(item, tuple) else "a transcript line")
