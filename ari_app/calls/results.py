"""What a call leaves behind besides its events: the transcript, the recording, the usage and the cost.

One origin for all of it, the moment the call was answered (the far end's answer for a call out,
ours for a call in): the transcript's offsets are milliseconds from it and the recording starts at
it, so a line's offset is also its place in the recording. Lines are queued on the call's journal
(written in order, the event loop never waits on the database); the recording is written by
`media.recorder.CallRecorder` through the process's `RecordingStore`; usage and cost are stored
before the attempt is closed, so the call_ended webhook carries the cost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from analysis.live import SentimentTracker
from ari_app.calls.journal import CallJournal
from ari_app.settings import Settings
from campaigns.calls import CallLine, CallLog
from campaigns.costs import CostRates, price_call
from media.recorder import CallRecorder, Recording
from media.recordings import RecordingStore, recording_key
from media.rtp_session import RtpSession
from media.transcript import TranscriptLine
from media.turn_metrics import TurnMetrics
from media.usage import CallUsage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResultsConfig:
    """The process's side of every call's results: where recordings go and the rates in force."""

    recordings: RecordingStore | None = None  # None: calls are not recorded (RECORD_CALLS=false)
    rates: CostRates = field(default_factory=CostRates)

    @classmethod
    def from_settings(cls, settings: Settings, recordings: RecordingStore) -> ResultsConfig:
        """The process's recording store (`ari_app.recordings`), used only while RECORD_CALLS is on."""
        return cls(recordings if settings.record_calls else None, cost_rates(settings))


def cost_rates(settings: Settings) -> CostRates:
    return CostRates(
        currency=settings.cost_currency,
        telephony_per_min=settings.cost_telephony_per_min,
        billing_increment_s=settings.cost_billing_increment_s,
        stt_per_min=settings.cost_stt_per_min,
        tts_per_1k_chars=settings.cost_tts_per_1k_chars,
        llm_per_1k_prompt_tokens=settings.cost_llm_per_1k_prompt_tokens,
        llm_per_1k_completion_tokens=settings.cost_llm_per_1k_completion_tokens,
    )


class CallResults:
    def __init__(self, call_log: CallLog, attempt_id: uuid.UUID, journal: CallJournal,
                 config: ResultsConfig | None = None) -> None:
        self._call_log = call_log
        self._attempt_id = attempt_id
        self._journal = journal
        config = config or ResultsConfig()
        self._store = config.recordings
        self._rates = config.rates
        self._loop = asyncio.get_running_loop()
        self.usage = CallUsage()
        self.answered_at: float | None = None  # loop time
        self.recorder: CallRecorder | None = None
        self.recording: Recording | None = None
        self.sentiment = SentimentTracker()  # each caller turn's, and the live sentiment_alert

    def answered(self, at: float | None) -> None:
        self.answered_at = self.answered_at or at or self._loop.time()

    def record(self, session: RtpSession) -> None:
        """Record the call's audio both ways from now on (when recordings are on)."""
        if self._store is None or self.answered_at is None or self.recorder is not None:
            return
        key = recording_key(self._attempt_id, datetime.now(UTC).date())
        self.recorder = CallRecorder(self._store, key, origin=self.answered_at, sample_rate=session.codec.sample_rate)
        self.recorder.attach(session.pacer)

    def heard(self, pcm: np.ndarray) -> None:
        """The caller's audio, as the pipeline hears it (the RTP session's callback)."""
        if self.recorder is not None:
            self.recorder.caller(pcm)

    def line(self, line: TranscriptLine | None) -> None:
        """A transcript line (a conversation's, a greeting's, a voicemail's), queued on the journal."""
        if line is None or self.answered_at is None:
            return
        start = max(0, round((line.start_at - self.answered_at) * 1000))
        end = max(start, round((line.end_at - self.answered_at) * 1000))
        self._journal.line(CallLine(line.speaker, line.text, start, end, line.source, line.interrupted))

    async def store_turn(self, turn: TurnMetrics) -> None:
        """A conversation turn's marks and the caller's sentiment (`call_turns`), a line in the journal,
        and the `sentiment_alert` the conversation so far calls for (once per call)."""
        data = turn.as_dict()
        mood, alert = self.sentiment.observe(turn.index, turn.user_text)
        if mood is not None:
            data.update(sentiment=mood.sentiment.value, frustrated=mood.frustrated)
        self._journal.record("turn", {k: data[k] for k in ("index", "voice_to_voice_ms", "interrupted")})
        try:
            await self._call_log.add_turn(self._attempt_id, data)
        except Exception:
            log.exception("%s: could not store turn %d", self._attempt_id, turn.index)
        if alert is not None:
            try:
                await self._call_log.sentiment_alert(self._attempt_id, alert.reasons, alert.payload())
            except Exception:
                log.exception("%s: could not raise the sentiment alert of turn %d", self._attempt_id, turn.index)

    async def finish(self) -> dict[str, Any]:
        """Close the recording, price the call and store both; before the attempt is closed."""
        ended = self._loop.time()
        if self.recorder is not None:
            self.recording = await self.recorder.close(ended)
        talk_s = ended - self.answered_at if self.answered_at is not None else 0.0
        usage = {"telephony_s": round(talk_s, 3), **self.usage.as_dict()}
        cost, detail = price_call(usage, self._rates)
        recording = self.recording
        try:
            await self._call_log.record_results(
                self._attempt_id, recording_path=recording.key if recording else None,
                recording_ms=recording.duration_ms if recording else None, usage=usage, cost=cost,
                cost_detail=detail)
        except Exception:
            log.exception("could not store the usage and cost of %s", self._attempt_id)
        return {"usage": usage, "cost": str(cost), "recording": recording.key if recording else None}
