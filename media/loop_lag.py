"""How late the asyncio event loop runs its callbacks: a 10 ms timer, and how late it fires.

Every call's RTP pacer shares the process's one event loop: a callback that holds the loop for
60 ms costs every call up three 20 ms frame slots. This monitor makes such stalls visible:

    async with LoopLagMonitor() as lag:
        ...
        lag.stats().recent_max_s

It keeps a histogram (with max and percentiles) since it started and the raw samples of the last
minute, logs a WARNING with the lateness when the loop was more than `warn_s` late (at most one
line per `warn_every_s`, with how many stalls it folded in), and, with `sample_stacks=True`, runs a
watchdog thread that snapshots the loop thread's stack while it is stalled, so the warning names
the blocking call (a diagnosis aid: `sys._current_frames` every few ms costs little, but it is off
by default). `slow_callback_s` also turns on asyncio's own debug report of slow callbacks.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from types import FrameType
from typing import Self

log = logging.getLogger(__name__)

# Upper bounds (seconds) of the histogram's buckets: from "on time" to "several frames lost".
BUCKETS_S: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2)


@dataclass(frozen=True, slots=True)
class LoopLagStats:
    """The monitor's figures; every value in seconds. `buckets` are cumulative counts per `BUCKETS_S`
    bound (the Prometheus convention), `count`/`sum_s` over every sample since start."""

    count: int
    sum_s: float
    max_s: float
    buckets: tuple[int, ...]
    p50_s: float
    p99_s: float
    recent_count: int  # the last `window_s`
    recent_max_s: float
    recent_p50_s: float
    recent_p99_s: float
    stalls: int  # samples over the warning threshold, since start


def _summary(frame: FrameType, limit: int) -> traceback.StackSummary:
    """The innermost `limit` frames, outermost first, without reading source files (fast)."""
    summary = traceback.StackSummary.extract(traceback.walk_stack(frame), limit=limit, lookup_lines=False)
    summary.reverse()
    return summary


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class LoopLagMonitor:
    def __init__(self, *, interval_s: float = 0.01, warn_s: float = 0.02, warn_every_s: float = 10.0,
                 window_s: float = 60.0, sample_stacks: bool = False, slow_callback_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.warn_s = warn_s
        self.warn_every_s = warn_every_s
        self.window_s = window_s
        self.sample_stacks = sample_stacks
        self.slow_callback_s = slow_callback_s
        self._counts = [0] * (len(BUCKETS_S) + 1)  # the last one: over the largest bound
        self._count = 0
        self._sum = 0.0
        self._max = 0.0
        self._stalls = 0
        self._recent: deque[tuple[float, float]] = deque()  # (loop time, lag) of the last window_s
        self._task: asyncio.Task[None] | None = None
        # Rate limit of the warning: when the last line went out, and what was folded in since.
        self._warned_at = float("-inf")
        self._folded = 0
        self._folded_max = 0.0
        # Stack sampling: the timer's due time (time.monotonic, the loop's clock), read by the watchdog.
        self._due: float | None = None
        self._loop_thread = 0
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        self._debug_was: bool | None = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        """Start measuring (on the running loop); idempotent."""
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        if self.slow_callback_s > 0:  # asyncio names each callback that ran longer, with its source
            self._debug_was = loop.get_debug()
            loop.slow_callback_duration = self.slow_callback_s
            loop.set_debug(True)
        self._loop_thread = threading.get_ident()
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")
        if self.sample_stacks:
            self._stop.clear()
            self._watchdog = threading.Thread(target=self._watch, name="loop-lag-watchdog", daemon=True)
            self._watchdog.start()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            s = self.stats()
            log.info("event loop lag over %d samples: max %.1f ms, p99 <= %.1f ms, %d stall(s) over %.0f ms",
                     s.count, s.max_s * 1e3, s.p99_s * 1e3, s.stalls, self.warn_s * 1e3)
        if self._watchdog is not None:
            self._stop.set()
            # The watchdog wakes every few ms: joining it blocks the loop for at most that long.
            self._watchdog.join(timeout=1.0)
            self._watchdog = None
        if self._debug_was is not None:
            asyncio.get_running_loop().set_debug(self._debug_was)
            self._debug_was = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            self._due = due
            await asyncio.sleep(self.interval_s)
            self._due = None
            now = loop.time()
            self.record(max(0.0, now - due), now=now)

    def record(self, lag_s: float, *, now: float | None = None) -> None:
        """One sample (public for tests); warns when over the threshold."""
        now = time.monotonic() if now is None else now
        self._counts[bisect.bisect_left(BUCKETS_S, lag_s)] += 1
        self._count += 1
        self._sum += lag_s
        self._max = max(self._max, lag_s)
        self._recent.append((now, lag_s))
        while self._recent and self._recent[0][0] < now - self.window_s:
            self._recent.popleft()
        if lag_s > self.warn_s:
            self._stalls += 1
            self._warn(lag_s, now)

    def _warn(self, lag_s: float, now: float) -> None:
        if self.sample_stacks:  # diagnosis mode: every stall (the watchdog logged where the loop was)
            log.warning("event loop %.0f ms late", lag_s * 1e3)
            return
        if now - self._warned_at < self.warn_every_s:
            self._folded += 1
            self._folded_max = max(self._folded_max, lag_s)
            return
        folded = (f" ({self._folded} more stall(s) since the last report, up to {self._folded_max * 1e3:.0f} ms)"
                  if self._folded else "")
        log.warning("event loop %.0f ms late: something blocked it (every call's audio waits)%s",
                    lag_s * 1e3, folded)
        self._warned_at, self._folded, self._folded_max = now, 0, 0.0

    def _watch(self) -> None:
        """Watchdog thread: once the loop is `warn_s` past the timer's due time, log the loop thread's stack.

        A call that holds the GIL (C code) cannot be seen inside: the sample then lands just after it
        returns, on the line that made it."""
        sampled_for: float | None = None
        while not self._stop.wait(0.005):
            due = self._due
            if due is None or due == sampled_for or (late := time.monotonic() - due) < self.warn_s:
                continue
            frames = sys._current_frames()
            frame = frames.get(self._loop_thread)
            if frame is None:
                continue
            sampled_for = due
            # Captured without reading source files (the loop thread moves on meanwhile); formatted after.
            summary = _summary(frame, 16)
            others = ""
            if frame.f_code.co_name in ("select", "poll", "control"):
                # The loop was waiting, not running: it was not given the CPU or the GIL. Name the threads
                # that run Python code now (one of them may hold the GIL in a long C call).
                names = {t.ident: t.name for t in threading.enumerate()}
                others = "".join(f"\n thread {names.get(ident, ident)}:\n" + "".join(_summary(f, 4).format())
                                 for ident, f in frames.items()
                                 if ident not in (self._loop_thread, threading.get_ident()))
            log.warning("event loop stalled (%.0f ms so far); the loop thread is in:\n%s%s", late * 1e3,
                        "".join(summary.format()), others)

    def stats(self) -> LoopLagStats:
        recent = sorted(lag for _, lag in self._recent)
        cumulative, total = [], 0
        for n in self._counts[:-1]:
            total += n
            cumulative.append(total)
        return LoopLagStats(
            count=self._count, sum_s=self._sum, max_s=self._max, buckets=tuple(cumulative),
            p50_s=self._bucket_percentile(0.5), p99_s=self._bucket_percentile(0.99),
            recent_count=len(recent), recent_max_s=recent[-1] if recent else 0.0,
            recent_p50_s=_percentile(recent, 0.5), recent_p99_s=_percentile(recent, 0.99), stalls=self._stalls,
        )

    def _bucket_percentile(self, q: float) -> float:
        """The upper bound of the bucket the q-quantile falls in (the max when past the last bound)."""
        if not self._count:
            return 0.0
        rank, seen = q * self._count, 0
        for bound, n in zip(BUCKETS_S, self._counts, strict=False):
            seen += n
            if seen >= rank:
                return bound
        return self._max
