"""Real-time RTP sender: one frame every 20 ms on an absolute clock, with barge-in.

Why absolute deadlines: ``await asyncio.sleep(0.02)`` in a loop drifts by the loop's wake-up
latency on *every* packet (0.1-1 ms each, i.e. seconds per minute); the far end's jitter buffer
then under-runs or grows. Here packet ``n`` is due at ``t0 + n * frame`` of the loop's monotonic
clock, so errors never accumulate. If the loop stalls for several frames (GC, a CPU-bound call),
the pacer skips the missed slots (advancing the RTP timestamp, marker bit set) instead of
bursting them out, which a receiver would either drop or play as a speed-up.

Audio is never dropped by a resync, only delayed; only :meth:`RtpPacer.flush` (barge-in) drops it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media.audio import AudioClip, resample
from media.g711 import Codec
from media.rtp import RtpStream

__all__ = ["PlaybackResult", "RtpPacer"]

log = logging.getLogger(__name__)


@dataclass
class PlaybackResult:
    """What happened to one :meth:`RtpPacer.play` request (times are ``loop.time()``)."""

    frames_played: int
    frames_total: int
    interrupted: bool
    started_at: float | None
    finished_at: float | None
    last_frame_at: float | None = None  # when its last frame went out (a cut one: before the cut)


class _Playback:
    """A queued clip; ``payload`` is None while it is still being resampled off the loop."""

    __slots__ = ("frames_played", "frames_total", "future", "last_frame_at", "payload", "started_at")

    def __init__(self, future: asyncio.Future[PlaybackResult], frames_total: int) -> None:
        self.future = future
        self.frames_total = frames_total
        self.frames_played = 0
        self.payload: bytes | None = None
        self.started_at: float | None = None
        self.last_frame_at: float | None = None


class RtpPacer:
    """Sends ``codec`` frames through ``send`` at a steady rate; see the module docstring.

    ``send`` is typically ``transport.sendto`` bound to Asterisk's ExternalMedia address. It is
    called from the event loop; errors (OSError) are counted in ``send_errors``, never raised.
    """

    def __init__(
        self,
        send: Callable[[bytes], None],
        codec: Codec,
        stream: RtpStream | None = None,
        frame_ms: int = 20,
        send_silence_when_idle: bool = True,
        *,
        resync_after_frames: int = 3,
    ) -> None:
        self._send = send
        self.codec = codec
        self.stream = stream if stream is not None else RtpStream(codec.payload_type, codec.sample_rate)
        if self.stream.clock_rate != codec.sample_rate:
            raise ValueError(f"stream clock {self.stream.clock_rate} Hz != codec rate {codec.sample_rate} Hz")
        self.frame_ms = frame_ms
        self.frame_samples = codec.frame_samples(frame_ms)
        if self.frame_samples <= 0:
            raise ValueError(f"frame_ms={frame_ms} gives no samples at {codec.sample_rate} Hz")
        self._frame_s = frame_ms / 1000.0
        self._frame_bytes = self.frame_samples * codec.bytes_per_sample
        self._silence = codec.silence(self.frame_samples)
        self._silence_when_idle = send_silence_when_idle
        self._resync_after_s = resync_after_frames * self._frame_s
        self._late_threshold_s = self._frame_s / 2

        self._queue: deque[_Playback] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._talking = False  # the previous packet carried audio (so no marker on the next one)
        self._discontinuity = False  # timestamps jumped: mark the next packet
        self._paused = False  # barge-in suspected: hold the queue, send silence

        # Told of every audio frame as it goes out: (encoded payload, the time of its 20 ms slot). A call's
        # recorder listens here; it must only copy the frame (it runs inside the 20 ms clock).
        self.on_sent: Callable[[bytes, float], None] | None = None

        self.first_packet_at: float | None = None
        self.packets_sent = 0
        self.audio_packets_sent = 0
        self.late_frames = 0
        self.max_lateness_s = 0.0
        self.resyncs = 0
        self.send_errors = 0

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sending task on the running loop (idempotent)."""
        if self._stopped:
            raise RuntimeError("RtpPacer was stopped; create a new one")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="rtp-pacer")

    async def stop(self) -> None:
        """Stop sending; pending playbacks resolve as interrupted."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self.flush()

    def summary(self) -> dict[str, float | int]:
        """What went out, and how late the clock ever was (the 20 ms grid's health)."""
        return {"packets": self.packets_sent, "late_frames": self.late_frames,
                "max_lateness_ms": round(self.max_lateness_s * 1000, 2)}

    @property
    def is_playing(self) -> bool:
        """True while audio is queued or being sent (the agent is talking)."""
        return any(not p.future.done() for p in self._queue)

    def play(self, clip: AudioClip) -> asyncio.Future[PlaybackResult]:
        """Queue ``clip`` after whatever is playing; the future resolves when it was sent or flushed.

        Resampling to the codec rate happens in the default executor so a long sentence never
        stalls the loop (and with it every other call's pacing). Cancelling the future drops it.
        """
        if self._stopped:
            raise RuntimeError("RtpPacer was stopped")
        loop = asyncio.get_running_loop()
        rate = self.codec.sample_rate
        n_out = -(-len(clip.pcm) * rate // clip.sample_rate)
        item = _Playback(loop.create_future(), -(-n_out // self.frame_samples))
        if item.frames_total == 0:
            item.future.set_result(PlaybackResult(0, 0, False, None, None))
            return item.future
        self._queue.append(item)
        if clip.sample_rate == rate:
            item.payload = self._encode(clip.pcm, item.frames_total)
            self._wake.set()
        else:
            job = loop.run_in_executor(None, self._prepare, clip, item.frames_total)
            job.add_done_callback(lambda j: self._prepared(item, j))
        return item.future

    def pause(self) -> None:
        """Hold the queued audio and send silence from the next slot (a suspected barge-in)."""
        self._paused = True

    def resume(self) -> None:
        """Continue the held audio where it stopped (the suspected barge-in was not speech)."""
        self._paused = False
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused

    def flush(self) -> None:
        """Barge-in: drop everything queued now; the next packet is already silence (or nothing)."""
        now = self._now()
        self._paused = False
        while self._queue:
            self._resolve(self._queue.popleft(), interrupted=True, at=now)

    # -- internals --------------------------------------------------------------------------

    def _encode(self, pcm: np.ndarray, frames_total: int) -> bytes:
        padded = np.zeros(frames_total * self.frame_samples, dtype=np.int16)
        padded[: len(pcm)] = pcm[: len(padded)]
        return self.codec.encode(padded)

    def _prepare(self, clip: AudioClip, frames_total: int) -> bytes:
        return self._encode(resample(clip.pcm, clip.sample_rate, self.codec.sample_rate), frames_total)

    def _prepared(self, item: _Playback, job: asyncio.Future[bytes]) -> None:
        error = RuntimeError("audio preparation cancelled") if job.cancelled() else job.exception()
        if item.future.done():  # flushed or cancelled meanwhile (error, if any, now retrieved)
            return
        if error is not None:
            self._queue.remove(item)
            item.future.set_exception(error)
            return
        item.payload = job.result()
        self._wake.set()

    def _now(self) -> float | None:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # flush() called outside the loop: no meaningful loop time
            return None

    def _resolve(self, item: _Playback, *, interrupted: bool, at: float | None) -> None:
        if not item.future.done():
            result = PlaybackResult(item.frames_played, item.frames_total, interrupted, item.started_at, at,
                                    item.last_frame_at)
            item.future.set_result(result)

    def _head(self) -> _Playback | None:
        """First live queued item (skipping ones whose future the caller cancelled)."""
        while self._queue and self._queue[0].future.done():
            self._queue.popleft()
        return self._queue[0] if self._queue else None

    def _ready(self) -> bool:
        head = None if self._paused else self._head()
        return head is not None and head.payload is not None

    async def _sleep_until(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if deadline <= loop.time():
            return
        fut = loop.create_future()
        handle = loop.call_at(deadline, _set_done, fut)
        try:
            await fut
        finally:
            handle.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        n = 0
        try:
            while True:
                if not self._silence_when_idle and not self._ready():
                    # Idle and silent: sleep until there is audio, then rejoin the frame grid with
                    # the RTP clock advanced by the time that passed.
                    self._wake.clear()
                    await self._wake.wait()
                    slot = max(n, math.ceil((loop.time() - t0) / self._frame_s))
                    if slot > n:
                        self.stream.skip((slot - n) * self.frame_samples)
                        self._discontinuity = True
                        n = slot
                deadline = t0 + n * self._frame_s
                await self._sleep_until(loop, deadline)
                now = loop.time()
                lateness = now - deadline
                self.max_lateness_s = max(self.max_lateness_s, lateness)
                if lateness > self._late_threshold_s:
                    self.late_frames += 1
                if lateness >= self._resync_after_s:
                    missed = int(lateness // self._frame_s)
                    self.stream.skip(missed * self.frame_samples)
                    n += missed
                    self.resyncs += 1
                    self._discontinuity = True
                    log.warning("rtp pacer %.0f ms behind: skipped %d frame slots", lateness * 1e3, missed)
                self._tick(now, t0 + n * self._frame_s)
                n += 1
        except Exception:
            log.exception("rtp pacer crashed; pending playbacks are resolved as interrupted")
            raise
        finally:
            self._stopped = True
            self.flush()

    def _tick(self, now: float, slot_at: float | None = None) -> None:
        head = None if self._paused else self._head()
        if head is None or head.payload is None:
            self._talking = False
            if self._silence_when_idle:
                self._transmit(self._silence, marker=self._discontinuity)
            else:
                self.stream.skip(self.frame_samples)
            return
        i = head.frames_played
        payload = head.payload[i * self._frame_bytes : (i + 1) * self._frame_bytes]
        self._transmit(payload, marker=self._discontinuity or not self._talking)
        self._talking = True
        self.audio_packets_sent += 1
        if self.on_sent is not None:
            self.on_sent(payload, now if slot_at is None else slot_at)
        if self.first_packet_at is None:
            self.first_packet_at = now
        if head.started_at is None:
            head.started_at = now
        head.frames_played += 1
        head.last_frame_at = now
        if head.frames_played >= head.frames_total:
            self._queue.popleft()
            self._resolve(head, interrupted=False, at=now)

    def _transmit(self, payload: bytes, *, marker: bool) -> None:
        packet = self.stream.packet(payload, self.frame_samples, marker=marker)
        self._discontinuity = False
        self.packets_sent += 1
        try:
            self._send(packet)
        except OSError as exc:
            self.send_errors += 1
            if self.send_errors == 1 or self.send_errors % 500 == 0:
                log.warning("rtp send failed (%d so far): %s", self.send_errors, exc)


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
