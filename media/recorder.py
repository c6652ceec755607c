"""A call's recording: stereo 16-bit PCM WAV, the caller on the left, the agent on the right.

Both channels share one timeline that starts at ``origin`` (the call's answer, in the event loop's
clock), so a moment in one channel is the same moment in the other, and the transcript's offsets
point into the file. A stretch with no audio is silence; both channels always have the same length.

- Left, the caller: the decoded inbound audio the pipeline hears (after the jitter buffer), placed
  by arrival. Frames that arrive together (a burst after a stall, or what the jitter buffer held)
  end where the last of them arrived; consecutive frames are laid end to end, so network jitter
  neither stretches nor clicks; only a gap longer than ``gap_s`` (no packets at all) becomes silence.
- Right, the agent: what the pacer actually sent, each frame on its 20 ms slot. A barge-in, a pause
  or an idle line is silence, because nothing was sent.

Everything runs on the event loop and only copies frames (the pacer calls in inside its 20 ms
clock). Every ``flush_every_s`` the audio older than ``settle_s`` is handed to the store through the
default executor, never awaited there; `close` writes the rest, up to the end of the call, so a
hang-up in mid-sentence still leaves a complete file.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media.pacer import RtpPacer
from media.recordings import RecordingFile, RecordingStore

__all__ = ["CallRecorder", "Recording"]

log = logging.getLogger(__name__)

_BATCH_S = 0.005  # frames handed on within this of each other arrived together


@dataclass(frozen=True, slots=True)
class Recording:
    key: str  # where the store keeps it
    duration_ms: int


class _Track:
    """One channel from absolute sample `base` on (what is before was handed to the file)."""

    def __init__(self, gap: int) -> None:
        self._gap = gap
        self._chunks: list[np.ndarray] = []
        self.base = 0
        self.end = 0  # absolute index after the last sample placed
        self._batch: list[np.ndarray] = []
        self._batch_end = 0
        self._batch_at = -math.inf

    def put(self, pcm: np.ndarray, end: int, at: float) -> None:
        """`pcm` ended at absolute sample `end` (it arrived at loop time `at`)."""
        if self._batch and at - self._batch_at > _BATCH_S:
            self.commit()
        self._batch.append(pcm)
        self._batch_end, self._batch_at = end, at

    def commit(self) -> None:
        if not self._batch:
            return
        samples = sum(len(p) for p in self._batch)
        if (start := self._batch_end - samples) > self.end + self._gap:
            self._pad(start)
        self._chunks.extend(self._batch)
        self.end += samples
        self._batch = []

    def _pad(self, upto: int) -> None:
        if upto > self.end:
            self._chunks.append(np.zeros(upto - self.end, dtype=np.int16))
            self.end = upto

    def take(self, upto: int) -> np.ndarray:
        """Samples [base, upto), silence where nothing was placed; they leave the track."""
        self._pad(upto)
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)
        cut = upto - self.base
        self._chunks = [pcm[cut:]] if len(pcm) > cut else []
        self.base = upto
        return pcm[:cut]


class CallRecorder:
    def __init__(
        self,
        store: RecordingStore,
        key: str,
        *,
        origin: float,
        sample_rate: int = 8000,
        clock: Callable[[], float] | None = None,
        flush_every_s: float = 5.0,
        settle_s: float = 1.0,
        gap_s: float = 0.06,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._store = store
        self.key = key
        self.origin = origin
        self.sample_rate = sample_rate
        self._clock = clock or self._loop.time
        self._flush_every_s = flush_every_s
        self._settle_s = settle_s
        self._caller = _Track(round(gap_s * sample_rate))
        self._agent = _Track(sample_rate // 100)  # the pacer's slots are exact: half a frame is a gap
        self._decode: Callable[[bytes], np.ndarray] | None = None
        self._file: RecordingFile | None = None  # opened and written by the worker jobs, one at a time
        self._job: asyncio.Future[None] | None = None
        self._flushed_at = origin
        self._failed = False
        self._closed = False
        self.frames_dropped = 0  # frames that came after close

    # --- taps (synchronous, on the event loop) -----------------------------------------------
    def attach(self, pacer: RtpPacer) -> None:
        """Record what `pacer` sends (its frames are encoded: decoded here, 160 bytes at a time)."""
        if pacer.codec.sample_rate != self.sample_rate:
            raise ValueError(f"pacer at {pacer.codec.sample_rate} Hz, recording at {self.sample_rate} Hz")
        self._decode = pacer.codec.decode
        pacer.on_sent = self.agent_sent

    def caller(self, pcm: np.ndarray) -> None:
        """A decoded inbound frame, handed on now."""
        at = self._clock()
        self._put(self._caller, pcm, self._sample(at), at)

    def agent(self, pcm: np.ndarray, at: float) -> None:
        """An outbound frame whose slot began at loop time `at`."""
        self._put(self._agent, pcm, self._sample(at) + len(pcm), at)

    def agent_sent(self, payload: bytes, at: float) -> None:
        assert self._decode is not None
        self.agent(self._decode(payload), at)

    def _put(self, track: _Track, pcm: np.ndarray, end: int, at: float) -> None:
        if self._closed or self._failed:
            self.frames_dropped += self._closed
            return
        try:
            track.put(pcm, end, at)
            if at - self._flushed_at >= self._flush_every_s and (self._job is None or self._job.done()):
                self._flush(at)
        except Exception:  # a recording fault must never reach the pacer or the RTP socket
            log.exception("recording %s failed; the call goes on unrecorded", self.key)
            self._failed = True

    def _sample(self, at: float) -> int:
        return max(0, round((at - self.origin) * self.sample_rate))

    # --- writing ---------------------------------------------------------------------------
    def _flush(self, now: float) -> None:
        self._flushed_at = now
        if self._job is not None and self._job.exception() is not None:
            raise self._job.exception()  # type: ignore[misc]
        upto = self._sample(now - self._settle_s)
        if upto > self._caller.base:
            self._job = self._loop.run_in_executor(None, self._write, self._frames(upto), False)

    def _frames(self, upto: int) -> bytes:
        left, right = self._caller.take(upto), self._agent.take(upto)
        frames = np.empty(2 * len(left), dtype="<i2")
        frames[0::2], frames[1::2] = left, right
        return frames.tobytes()

    def _write(self, data: bytes, last: bool) -> None:  # in a worker thread
        if self._file is None:
            self._file = self._store.open(self.key, channels=2, sample_rate=self.sample_rate)
        self._file.append(data)
        if last:
            self._file.close()

    async def close(self, at: float | None = None) -> Recording | None:
        """Write the rest, both channels up to `at` (the end of the call; now by default) or to their
        last sample if later. None if the recording could not be written (the fault is logged)."""
        if self._closed:
            return None
        self._closed = True
        try:
            if self._job is not None:
                await self._job
            if not self._failed:
                for track in (self._caller, self._agent):
                    track.commit()
                end = max(self._caller.end, self._agent.end, self._caller.base,
                          self._sample(self._clock() if at is None else at))
                await self._loop.run_in_executor(None, self._write, self._frames(end), True)
                return Recording(self.key, round(end * 1000 / self.sample_rate))
        except Exception:
            log.exception("could not write the recording %s", self.key)
        if self._file is not None:
            try:
                await self._loop.run_in_executor(None, self._file.close)
            except Exception:
                log.exception("could not close the recording %s", self.key)
        return None
