"""The post-call analysis worker: claims answered calls' analyses, runs an analyzer, stores the result.

The bridge between `analysis.store` (the queue and the store, dicts and SQL) and `analysis`
(the analyzers, typed and pure). The rule analyzer is CPU work and runs in this worker's own thread
pool, never on the event loop that carries the calls' audio; the LLM analyzer is awaited (and runs
its fallback in the same pool). A call whose analysis raises is put back with a backoff by the
store and the others of the batch go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg

from analysis import (
    AnalysisInput,
    CallAnalysis,
    CallFacts,
    ClassificationScheme,
    LlmAnalyzer,
    RegisteredPromise,
    RuleAnalyzer,
    Utterance,
)
from analysis.sales import SalesAnalyzer
from analysis.store import AnalysisJob, AnalysisLeaseLost, AnalysisStore

__all__ = ["AnalysisWorker", "LlmEndpoint", "analysis_input"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LlmEndpoint:
    base_url: str
    api_key: str
    model: str


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "America/Santiago")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/Santiago")


def analysis_input(data: Mapping[str, Any]) -> AnalysisInput:
    """The analyzer's input from the store's dict (`AnalysisJob.input`).

    The call's moment is taken in the debtor's zone: "mañana" said at 23:30 in Santiago is the next
    day there, whatever the server's zone.
    """
    promise = data.get("promise")
    call_at: datetime = data["call_at"]
    facts = CallFacts(
        call_at=call_at.astimezone(_zone(data.get("timezone"))),
        outcome=data.get("outcome") or "answered",
        result=data.get("result"),
        promise=None if promise is None else RegisteredPromise(promise["date"], Decimal(promise["amount"])),
        debtor_name=data.get("debtor_name"),
        delinquency_type=data.get("delinquency_type") or "",
        amount_owed=data.get("amount_owed"),
        purpose=data.get("purpose") or "collection",
        lead=data.get("lead"),
    )
    lines = tuple(Utterance(line["speaker"], line["text"], line.get("start_ms"))
                  for line in data.get("lines", ()) if line["speaker"] in ("agent", "caller"))
    return AnalysisInput(facts, lines)


class AnalysisWorker:
    """Analyses answered calls, for the lifetime of an `async with` block (it owns its thread pool and
    the LLM client). `run_once()` does one batch (tests, a CLI); `run()` loops until cancelled."""

    def __init__(self, store: AnalysisStore, scheme: ClassificationScheme, *, llm: LlmEndpoint | None = None,
                 batch_size: int = 4, poll_s: float = 2.0, llm_tries: int = 3, llm_timeout_s: float = 60.0) -> None:
        self.store = store
        self.rules = RuleAnalyzer(scheme)
        self.sales = SalesAnalyzer(scheme)
        self.llm: LlmAnalyzer | None = None
        self._llm_endpoint = llm
        self._llm_tries = llm_tries
        self._llm_timeout_s = llm_timeout_s
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._executor: ThreadPoolExecutor | None = None

    async def __aenter__(self) -> Self:
        # Two threads: a long transcript being read by the rules does not hold up the next call's.
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="call-analysis")
        if self._llm_endpoint is not None:
            e = self._llm_endpoint
            self.llm = LlmAnalyzer(base_url=e.base_url, api_key=e.api_key, model=e.model, rules=self.rules,
                                   executor=self._executor, tries=self._llm_tries, timeout_s=self._llm_timeout_s)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.llm is not None:
            await self.llm.aclose()
            self.llm = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        if self._executor is None:
            raise RuntimeError("AnalysisWorker is used outside its `async with` block")
        if inp.facts.purpose == "sales":
            # The lead the agent recorded is the lead; the LLM's instructions are for collections calls.
            return await asyncio.get_running_loop().run_in_executor(self._executor, self.sales.analyze, inp)
        if self.llm is not None:
            return await self.llm.analyze(inp)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.rules.analyze, inp)

    async def run_once(self) -> int:
        """Claim one batch, analyse its calls concurrently, store each result; how many were claimed."""
        jobs = await self.store.claim(self._batch_size)
        if jobs:
            await asyncio.gather(*(self._one(job) for job in jobs))
        return len(jobs)

    async def _one(self, job: AnalysisJob) -> None:
        try:
            analysis = await self.analyze(analysis_input(job.input))
            # Which table the transcript came from: an analysis of call_turns saw no agent greeting.
            document = {**analysis.as_document(), "transcript_source": job.input.get("transcript_source"),
                        "transcript_version": job.input.get("transcript_version", "live")}
            events = await self.store.save(job.attempt_id, document, tries=job.tries)
        except AnalysisLeaseLost as exc:
            log.warning("analysis result dropped: %s", exc)
        except Exception as exc:  # a bug or the database: this call is retried later, the batch goes on
            log.exception("analysis of call %s failed (try %d)", job.attempt_id, job.tries)
            with contextlib.suppress(psycopg.Error, OSError):
                status = await self.store.fail(job.attempt_id, f"{type(exc).__name__}: {exc}", tries=job.tries)
                log.info("analysis of call %s is %s", job.attempt_id, status)
        else:
            log.info("call %s analysed by %s: %s (%s)", job.attempt_id, analysis.analyzer,
                     analysis.next_action.value, ", ".join(events))

    async def rerun(self, attempt_id: uuid.UUID, *, transcript_version: str = "live") -> dict[str, Any] | None:
        """Analyse one call again now, reading `transcript_version` (see `AnalysisStore.rerun`); the
        analysis row afterwards (status 'done', or back to 'pending' with the error if it failed)."""
        job = await self.store.rerun(attempt_id, transcript_version=transcript_version)
        await self._one(job)
        return await self.store.get(attempt_id)

    async def run(self) -> None:
        """Analyse until cancelled; poll every `poll_s` while there is nothing to do."""
        while True:
            try:
                busy = await self.run_once() > 0
            except (psycopg.Error, OSError) as exc:  # the database restarting: try again at the next poll
                log.warning("analysis round failed: %s", exc)
                busy = False
            except Exception:  # a bug loading some call's input: logged, and the worker stays alive
                log.exception("analysis round failed")
                busy = False
            if not busy:
                await asyncio.sleep(self._poll_s)
