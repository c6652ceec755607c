"""A small receive jitter buffer: puts RTP frames back in order and conceals the lost ones.

Built for a listener (VAD and speech recognition), not for a loudspeaker: packets that arrive in
order go straight through, so a clean network adds no delay at all. Only when a sequence number
is skipped does the buffer hold the packets after the hole, for at most ``max_wait_s`` or
``max_depth`` packets, waiting for the missing one. If it never comes, the hole is filled by
repeating the last good frame, fading (``fade`` per frame, the cheap cousin of G.711 Appendix I
concealment) for up to ``conceal_frames`` frames and with silence after that, so the VAD sees
neither a click nor a jump in the stream's timeline. Packets that arrive after their slot was
released (or twice) are dropped and counted.

Sequence numbers are compared modulo 2**16. A jump of more than ``resync_gap`` packets, or a new
SSRC, is a new stream (Asterisk re-INVITEd or restarted a channel): the buffer follows it instead of
concealing thousands of frames.

The buffer is synchronous and clock-agnostic (``now`` is passed in) so it can be tested frame by
frame; :class:`media.rtp_session.RtpSession` drives it and arms a timer at :attr:`deadline`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["JitterBuffer", "JitterFrame", "JitterStats"]

_HALF = 0x8000


@dataclass(frozen=True, slots=True)
class JitterFrame:
    pcm: np.ndarray
    sequence: int
    concealed: bool = False


@dataclass(slots=True)
class JitterStats:
    reordered: int = 0  # packets that arrived early and were put back in place
    late: int = 0  # packets that arrived after their slot was concealed (dropped)
    duplicates: int = 0
    concealed: int = 0  # frames made up for packets that never came
    resyncs: int = 0  # new SSRC or a sequence jump: a new stream

    def as_dict(self) -> dict[str, int]:
        return {
            "reordered": self.reordered,
            "late": self.late,
            "duplicates": self.duplicates,
            "concealed": self.concealed,
            "resyncs": self.resyncs,
        }


class JitterBuffer:
    def __init__(
        self,
        *,
        max_wait_s: float = 0.06,
        max_depth: int = 4,
        conceal_frames: int = 3,
        fade: float = 0.5,
        resync_gap: int = 100,
    ) -> None:
        if max_wait_s < 0 or max_depth < 1 or conceal_frames < 0 or not 0 <= fade <= 1 or resync_gap < 1:
            raise ValueError("jitter buffer: max_wait_s >= 0, max_depth >= 1, conceal_frames >= 0, "
                             "0 <= fade <= 1 and resync_gap >= 1 are required")
        self.max_wait_s = max_wait_s
        self.max_depth = max_depth
        self.conceal_frames = conceal_frames
        self.fade = fade
        self.resync_gap = resync_gap
        self.stats = JitterStats()
        self._ssrc: int | None = None
        self._expected: int | None = None
        self._held: dict[int, tuple[np.ndarray, float]] = {}  # sequence -> (pcm, arrival time)
        self._last: np.ndarray | None = None
        self._run_concealed = 0  # consecutive concealed frames so far (for the fade)

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def deadline(self) -> float | None:
        """When :meth:`poll` must run next for held packets to be released; None when nothing is held."""
        if not self._held:
            return None
        return min(at for _, at in self._held.values()) + self.max_wait_s

    def push(self, sequence: int, ssrc: int, pcm: np.ndarray, now: float) -> list[JitterFrame]:
        """One received packet's decoded audio; returns the frames now ready, in order."""
        if self._expected is None:
            self._ssrc = ssrc
            return self._deliver(sequence, pcm)
        if ssrc != self._ssrc:
            self._ssrc = ssrc
            return self._resync(sequence, pcm)
        ahead = (sequence - self._expected) & 0xFFFF
        if ahead == 0:
            return self._deliver(sequence, pcm) + self._drain_ready(reordered=True)
        if ahead >= _HALF:  # behind the slot we are waiting for
            if 0x10000 - ahead > self.resync_gap:
                return self._resync(sequence, pcm)
            self.stats.late += 1
            return []
        if ahead > self.resync_gap:
            return self._resync(sequence, pcm)
        if sequence in self._held:
            self.stats.duplicates += 1
            return []
        self._held[sequence] = (pcm, now)
        if len(self._held) > self.max_depth:
            return self._release_next_hole()
        return []

    def poll(self, now: float) -> list[JitterFrame]:
        """Release what has waited ``max_wait_s`` for a missing packet, concealing the hole."""
        out: list[JitterFrame] = []
        while (deadline := self.deadline) is not None and deadline <= now + 1e-9:
            out += self._release_next_hole()
        return out

    # --- internals ----------------------------------------------------------------------------
    def _deliver(self, sequence: int, pcm: np.ndarray) -> list[JitterFrame]:
        self._last = pcm
        self._run_concealed = 0
        self._expected = (sequence + 1) & 0xFFFF
        return [JitterFrame(pcm, sequence)]

    def _drain_ready(self, *, reordered: bool) -> list[JitterFrame]:
        """Deliver the held packets that are now in sequence (``reordered``: they overtook a late one)."""
        out: list[JitterFrame] = []
        while self._expected in self._held:
            pcm, _ = self._held.pop(self._expected)
            self.stats.reordered += reordered
            out += self._deliver(self._expected, pcm)
        return out

    def _release_next_hole(self) -> list[JitterFrame]:
        """Give up on the packets before the earliest held one: conceal them, then drain."""
        assert self._expected is not None and self._held
        first = min(self._held, key=lambda s: (s - self._expected) & 0xFFFF)
        out: list[JitterFrame] = []
        while self._expected != first:
            out.append(self._conceal(self._expected))
            self._expected = (self._expected + 1) & 0xFFFF
        pcm, _ = self._held.pop(first)
        # These waited for a packet that never came: in order now, but not "reordered".
        return out + self._deliver(first, pcm) + self._drain_ready(reordered=False)

    def _drain_all(self) -> list[JitterFrame]:
        out: list[JitterFrame] = []
        while self._held:
            out += self._release_next_hole()
        return out

    def _resync(self, sequence: int, pcm: np.ndarray) -> list[JitterFrame]:
        out = self._drain_all()
        self.stats.resyncs += 1
        return out + self._deliver(sequence, pcm)

    def _conceal(self, sequence: int) -> JitterFrame:
        self.stats.concealed += 1
        self._run_concealed += 1
        last = self._last if self._last is not None else np.zeros(160, dtype=np.int16)
        if self._run_concealed > self.conceal_frames:
            pcm = np.zeros_like(last)
        else:
            gain = self.fade ** self._run_concealed
            pcm = (last.astype(np.float32) * gain).astype(np.int16)
        return JitterFrame(pcm, sequence, concealed=True)
