"""The pyttsx3/espeak-ng engine: the default offline Spanish voice.

The engine protocol and the phrase cache are :mod:`media.tts.base`; the other engine, Coqui TTS, is
:mod:`media.tts.coqui` (an optional extra: it needs torch).

pyttsx3 is blocking, not thread-safe, and drives libespeak-ng, a process-wide singleton that has
crashed its process under load (a segmentation fault inside espeak's synthesis). Each
:class:`EspeakTts` therefore runs its engine in a worker process of its own
(:mod:`media.tts.espeak_worker` holds the blocking side and what was measured about pyttsx3); the
asyncio loop only awaits futures. A worker that dies is replaced and the phrase synthesised again,
so a crash in espeak costs one phrase's latency, not every call in progress.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Self, TypeVar

from media.audio import AudioClip
from media.tts import espeak_worker
from media.tts.base import PhraseCache, TtsError

__all__ = ["EspeakTts"]

log = logging.getLogger(__name__)

ESPEAK_SAMPLE_RATE = 22050
T = TypeVar("T")


class EspeakTts:
    """Spanish TTS through pyttsx3 + espeak-ng in a worker process, with a small LRU cache.

    Use ``async with EspeakTts() as tts:`` (or :meth:`start` / :meth:`aclose`). Calls made before
    :meth:`start` start it implicitly. Output is 22.05 kHz mono int16; the pacer resamples it. The
    worker is spawned, so a script that uses it must guard its entry point with
    ``if __name__ == "__main__":`` (as multiprocessing asks).
    """

    def __init__(
        self,
        voice: str | None = None,
        rate: int = 165,
        *,
        volume: float = 1.0,
        cache_size: int = 32,
        warm_up: bool = True,
        timeout_s: float = 20.0,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate (words per minute) must be positive, got {rate}")
        self._wanted_voice = voice
        self._rate = rate
        self._volume = volume
        self._warm_up = warm_up
        self._timeout_s = timeout_s
        self.cache = PhraseCache(cache_size)
        self._pool: ProcessPoolExecutor | None = None
        self._voice: str | None = None
        self._start_lock = asyncio.Lock()
        self._respawn_lock = asyncio.Lock()  # not _start_lock: the warm-up runs under that one
        self._closed = False
        self.warm_up_s: float | None = None
        self.cancelled_attempts = 0  # utterances pyttsx3 cancelled and the worker retried (should stay 0)
        self.worker_restarts = 0  # workers that died (espeak crashed) and were replaced

    @property
    def name(self) -> str:
        return f"pyttsx3-espeak:{self._voice or self._wanted_voice or 'es'}"

    @property
    def voice(self) -> str | None:
        """The resolved pyttsx3 voice id (None before :meth:`start`)."""
        return self._voice

    @property
    def rate(self) -> int:
        return self._rate

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start the worker process and its engine, pick the voice and (optionally) warm it up."""
        async with self._start_lock:
            if self._closed:
                raise TtsError("EspeakTts is closed")
            if self._voice is not None:
                return
            try:
                self._voice = await self._spawn()
                if self._warm_up:  # loads the voice before the first greeting; fails early on a broken install
                    t0 = time.perf_counter()
                    await self._synthesize_in_worker("Hola.")
                    self.warm_up_s = time.perf_counter() - t0
            except BaseException:
                # `async with` does not call __aexit__ when __aenter__ fails: stop the worker here.
                self._voice = None
                await self.aclose()
                raise

    async def synthesize(self, text: str) -> AudioClip:
        """Speak ``text``; repeated phrases (greeting, legal notice) come from the cache."""
        if self._closed:
            raise TtsError("EspeakTts is closed")
        text = " ".join(text.split())
        if not text:
            return AudioClip.silence(0.0, ESPEAK_SAMPLE_RATE)
        if self._voice is None:
            await self.start()
        assert self._voice is not None
        key = (text, self._voice, self._rate)
        if (cached := self.cache.get(key)) is not None:
            return cached
        clip = await self._synthesize_in_worker(text)
        self.cache.put(key, clip)
        return clip

    async def worker_pid(self) -> int:
        """The worker process's id (it changes when a dead worker is replaced)."""
        return await self._in_worker(espeak_worker.worker_pid)

    async def aclose(self) -> None:
        """Finish queued work and stop the worker process (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.cache.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)

    # -- the worker process ---------------------------------------------------------------------

    async def _spawn(self) -> str:
        """A new worker with its engine; the voice it resolved. Spawned, not forked: a fork of a
        process running an event loop and other threads can inherit a held lock."""
        spawn = multiprocessing.get_context("spawn")
        old, self._pool = self._pool, ProcessPoolExecutor(max_workers=1, mp_context=spawn)
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, espeak_worker.open_engine, self._wanted_voice, self._rate, self._volume, self._timeout_s)

    async def _synthesize_in_worker(self, text: str) -> AudioClip:
        clip, cancelled = await self._in_worker(espeak_worker.synthesize, text)
        self.cancelled_attempts = cancelled
        return clip

    async def _in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the worker; a worker that died is replaced once and the call made again."""
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:
                raise TtsError("EspeakTts is closed")
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
            except BrokenProcessPool as exc:
                if self._closed or attempt == 2:
                    raise TtsError(f"the espeak worker process died twice in a row: {exc}") from exc
                async with self._respawn_lock:
                    if self._pool is pool:  # the first caller to see it dead replaces it
                        log.error("the espeak worker process died (%s); starting a new one", exc)
                        self.worker_restarts += 1
                        self.cancelled_attempts = 0
                        await self._spawn()
        raise AssertionError("unreachable")
