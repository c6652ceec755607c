"""Offline re-processing: a weak call transcribed again from its recording, and analysed again.

After a call, a recording whose live transcript was weak (its turns' mean confidence under
REPROCESS_WEAK_CONFIDENCE) is decoded again with a bigger, slower setting: the model of
STT_OFFLINE_MODEL_PATH (the bundled Whisper base when unset) with beam STT_OFFLINE_BEAM (5), where
the live loop decodes with beam 1 to answer fast. Each caller line is cut from the recording's
caller channel by its stored times (`media.stt.offline`). Both versions are stored
(`campaigns.transcripts`): 'live' (a snapshot of call_lines, which stay as they are) and 'offline'
(the caller's lines decoded again; a line the offline decode found no words in keeps its live
text). The post-call analysis is then run again on the offline version, and records that it read it.

The analysis reads the offline version, not "whichever has the higher mean confidence": confidences
of two different models (or beams) are not on one scale (`media.stt.base.Transcript`), and the
offline setting is the better recogniser by construction.

One call at a time: a lock around each re-processing (the API's queue and a CLI run alike). The
API queues a job in `call_reprocessing` (202); each app's `Reprocessor` takes queued jobs one by one. The
decodes run in the Whisper engine's own worker thread and the file is read in a thread, so the API's
event loop (which also paces live calls' audio) is never blocked. The offline model loads on first
use, not at start.

    python -m ari_app reprocess --call ID
    python -m ari_app reprocess --from 2026-12-01 --to 2026-12-07 --only-weak
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import psycopg

from analysis.worker import AnalysisWorker
from ari_app.settings import Settings
from campaigns.transcripts import TranscriptVersions
from media.recordings import RecordingStore, RecordingStoreUnavailable, readable_recording
from media.stt import SttEngine, WhisperStt
from media.stt.offline import CALLER_CHANNEL, AudioClip, caller_lines, read_channel, retranscribe_lines

__all__ = ["ReprocessError", "ReprocessResult", "Reprocessor", "model_label", "offline_stt"]

log = logging.getLogger(__name__)

BUNDLED = "whisper-base (bundled)"
LIVE_BEAM = 1  # media.stt.whisper.WhisperStt's default, which the live loop uses (ari_app/calls/dialogue.py)


class ReprocessError(RuntimeError):
    """This call cannot be re-processed (no such call, no recording, no caller line with times)."""


def model_label(path: str) -> str:
    return path or BUNDLED


def offline_stt(settings: Settings) -> WhisperStt:
    """The offline recogniser the settings ask for; it loads its model on first use."""
    return WhisperStt(settings.stt_offline_model_path or None, device=settings.stt_device,
                      compute_type=settings.stt_compute_type, beam_size=settings.stt_offline_beam)


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    attempt_id: uuid.UUID
    model: str
    beam: int
    lines: int  # caller lines decoded again
    changed: int  # of which the text differs from the live one
    live_confidence: float | None
    offline_confidence: float | None
    decode_s: float
    analysis_status: str | None  # None: the analysis was not re-run (no analysis worker here)
    analysis_version: str | None
    next_action: str | None

    def describe(self) -> str:
        def conf(v: float | None) -> str:
            return "n/a" if v is None else f"{v:.2f}"
        analysis = ("analysis not re-run (no analysis worker)" if self.analysis_status is None else
                    f"analysis re-run on the {self.analysis_version} transcript: {self.analysis_status}"
                    + (f", next action {self.next_action}" if self.next_action else ""))
        return (f"call {self.attempt_id}: {self.lines} caller line(s) re-transcribed with {self.model}, "
                f"beam {self.beam}, in {self.decode_s:.1f} s ({self.changed} changed); mean confidence "
                f"live {conf(self.live_confidence)} -> offline {conf(self.offline_confidence)}; {analysis}")


class Reprocessor:
    """Re-processes calls one at a time: `reprocess()` now (CLI), or `submit()` to this object's queue
    (API), worked through by its task for the lifetime of an `async with` block."""

    def __init__(self, transcripts: TranscriptVersions, recordings: RecordingStore, stt: SttEngine,
                 analysis: AnalysisWorker | None, *, model: str, beam: int, live_model: str,
                 owns_stt: bool = False, poll_s: float = 5.0) -> None:
        self.transcripts = transcripts
        self._recordings = recordings
        self._stt = stt
        self._analysis = analysis
        self._owns_stt = owns_stt  # close it with this object
        self.model, self.beam, self.live_model = model, beam, live_model
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, pool: Any, recordings: RecordingStore, settings: Settings,
                      analysis: AnalysisWorker | None, stt: SttEngine | None = None) -> Reprocessor:
        return cls(TranscriptVersions(pool, weak_confidence=settings.reprocess_weak_confidence), recordings,
                   stt or offline_stt(settings), analysis, model=model_label(settings.stt_offline_model_path),
                   beam=settings.stt_offline_beam, live_model=model_label(settings.stt_model_path),
                   owns_stt=stt is None)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._work(), name="transcript-reprocessing")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.aclose()

    async def aclose(self) -> None:
        """Unload the offline model if this object made its engine (`from_settings`)."""
        if self._owns_stt and isinstance(self._stt, WhisperStt):
            await self._stt.aclose()

    # ---------------------------------------------------------------- the queue (API)
    async def submit(self, attempt_id: uuid.UUID, *, by: str = "api") -> dict[str, Any]:
        """Queue the call (a job already queued or running is not queued twice); the job's row."""
        job = await self.transcripts.request(attempt_id, by=by)
        self.wake()
        return job

    def wake(self) -> None:
        """A job was queued (by this process's API): look now rather than at the next poll."""
        self._wake.set()

    async def _work(self) -> None:
        """Take queued jobs (`call_reprocessing`, queued by any process's API) one by one."""
        while True:
            try:
                attempt_id = await self.transcripts.claim_next()
            except (psycopg.Error, OSError) as exc:  # the database restarting: the next poll tries again
                log.warning("re-processing queue not read: %s", exc)
                attempt_id = None
            if attempt_id is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                continue
            try:
                log.info("%s", (await self.reprocess(attempt_id, by="api")).describe())
            except asyncio.CancelledError:
                raise
            except Exception:  # recorded on the job by reprocess(); the next call goes on
                log.exception("re-processing of call %s failed", attempt_id)

    # ---------------------------------------------------------------- one call
    async def reprocess(self, attempt_id: uuid.UUID, *, by: str = "") -> ReprocessResult:
        """Re-transcribe the call's caller lines, store both versions, re-run its analysis on the
        offline one. The job row says running, then done or failed (with the error)."""
        async with self._lock:
            await self.transcripts.started(attempt_id, by=by)
            try:
                result = await self._reprocess(attempt_id)
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    await self.transcripts.finished(attempt_id, error=f"{type(exc).__name__}: {exc}")
                raise
            await self.transcripts.finished(attempt_id)
            return result

    def _caller_audio(self, key: str) -> AudioClip:
        """The caller's channel of the recording (downloaded for the while when only the object store has it)."""
        with readable_recording(self._recordings, key) as path:
            return read_channel(path, CALLER_CHANNEL)

    async def _reprocess(self, attempt_id: uuid.UUID) -> ReprocessResult:
        source = await self.transcripts.source(attempt_id)
        if source is None:
            raise ReprocessError(f"no call {attempt_id}")
        if source.recording_path is None or source.recording_deleted:
            raise ReprocessError(f"call {attempt_id} has no recording "
                                 f"({'deleted by the retention' if source.recording_deleted else 'not recorded'})")
        if not caller_lines(source.lines):
            raise ReprocessError(f"call {attempt_id} has no caller line with times to cut its recording by")
        try:
            audio = await asyncio.to_thread(self._caller_audio, source.recording_path)
        except FileNotFoundError as exc:
            raise ReprocessError(f"the recording of call {attempt_id} is missing: {exc}") from exc
        except RecordingStoreUnavailable as exc:
            raise ReprocessError(f"the recording of call {attempt_id} could not be read: {exc}") from exc
        t0 = time.perf_counter()
        decoded = await retranscribe_lines(self._stt, audio, source.lines)
        decode_s = time.perf_counter() - t0

        offline = [dict(line) for line in source.lines]
        changed = 0
        for d in decoded:
            line = offline[d.index]
            live_text = line["text"]
            # No words offline (a cut too tight, line noise): the live text stays, marked so.
            line.update(text=d.text or live_text, confidence=d.confidence, live_text=live_text,
                        kept_live=not d.text)
            changed += line["text"] != live_text
        mean = round(statistics.fmean(d.confidence for d in decoded), 4)
        await self.transcripts.save(attempt_id, "live", model=self.live_model, beam=LIVE_BEAM,
                                    lines=list(source.lines), mean_confidence=source.mean_confidence)
        await self.transcripts.save(attempt_id, "offline", model=self.model, beam=self.beam, lines=offline,
                                    mean_confidence=mean, decode_s=round(decode_s, 3))
        status = version = action = None
        if self._analysis is not None:
            row = await self._analysis.rerun(attempt_id, transcript_version="offline")
            if row is not None:
                status, version, action = row["status"], row["transcript_version"], row["next_action"]
        return ReprocessResult(attempt_id, self.model, self.beam, len(decoded), changed, source.mean_confidence,
                               mean, decode_s, status, version, action)
