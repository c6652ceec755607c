"""Text-to-speech: the engine protocol, the phrase cache and the pyttsx3/espeak-ng engine.

The other engine, Coqui TTS, is :mod:`media.tts_coqui` (an optional extra: it needs torch).

pyttsx3 is blocking and not thread-safe, so each :class:`EspeakTts` runs every engine call on one
dedicated worker thread and the asyncio loop only awaits futures.

What pyttsx3 2.99's espeak driver really does (measured here, see also LAB.md):

* It initialises libespeak-ng in ``AUDIO_OUTPUT_RETRIEVAL`` mode, which is *asynchronous*: the
  audio is produced, and the WAV file written, on espeak's own thread. ``runAndWait()`` returns
  after a fixed 10 ms sleep, not when the file is written. The cold first synthesis of a process
  takes longer than that, hence "the first ``save_to_file`` is lost"; a long text loses the race
  even when warm. We therefore wait for the driver's ``finished-utterance`` notification, which it
  sends only after the WAV is closed. The warm-up at :meth:`EspeakTts.start` is kept for latency
  (it loads the voice before the first greeting) and to fail early on a broken install.
* libespeak-ng is a process-wide singleton (one synth callback, one current voice, one rate), and
  ``pyttsx3.init("espeak")`` hands every caller in the process the same engine. Two instances with
  their own worker threads would therefore race on it; :data:`_ESPEAK_LOCK` serialises them. It is
  the only module-level object here and it mirrors that real constraint.
* The driver prints ``Audio saved to <file>`` on stdout for every synthesis; the driver module's
  ``print`` is pointed at a debug log instead (see :func:`_quiet_driver`), as stdout belongs to the
  application.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from media.audio import AudioClip, read_wav

__all__ = ["EspeakTts", "PhraseCache", "TtsEngine", "TtsError", "spanish_voices"]

log = logging.getLogger(__name__)

#: Guards libespeak-ng, which exists once per process whatever pyttsx3 objects wrap it.
# What was last applied to the process's one pyttsx3 engine (guarded by _ESPEAK_LOCK).
_APPLIED_PROPERTIES: dict[int, tuple[str, int, float]] = {}
_ESPEAK_LOCK = threading.Lock()

DEFAULT_VOICES = ("roa/es-419", "roa/es")  # Latin American Spanish first, then Spain
ESPEAK_SAMPLE_RATE = 22050
_ATTEMPTS = 2  # a cancelled utterance (see _wait_espeak_idle) is retried once


class TtsError(RuntimeError):
    """Synthesis could not produce audio (no voice, engine stuck, ...)."""


@runtime_checkable
class TtsEngine(Protocol):
    """Anything that turns text into a clip; ``name`` identifies it in logs and metrics."""

    name: str

    async def synthesize(self, text: str) -> AudioClip: ...


class PhraseCache:
    """A small LRU of synthesised clips: fixed phrases (greeting, legal notice) are spoken often."""

    def __init__(self, size: int = 32) -> None:
        if size < 0:
            raise ValueError(f"cache size must be >= 0, got {size}")
        self.size = size
        self._clips: OrderedDict[tuple[Any, ...], AudioClip] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> AudioClip | None:
        clip = self._clips.get(key)
        if clip is None:
            self.misses += 1
            return None
        self._clips.move_to_end(key)
        self.hits += 1
        return clip

    def put(self, key: tuple[Any, ...], clip: AudioClip) -> None:
        if self.size == 0:
            return
        self._clips[key] = clip
        self._clips.move_to_end(key)
        while len(self._clips) > self.size:
            self._clips.popitem(last=False)

    def clear(self) -> None:
        self._clips.clear()


def _languages(voice: Any) -> list[str]:
    """Voice language codes; old pyttsx3 versions gave bytes with a priority byte in front."""
    out = []
    for lang in getattr(voice, "languages", None) or []:
        if isinstance(lang, bytes):
            lang = lang[1:].decode("utf-8", "ignore")
        out.append(str(lang).strip().lower())
    return out


def spanish_voices(engine: Any) -> list[str]:
    """Ids of the engine's voices whose language is Spanish (``es``, ``es-419``, ...)."""
    return [
        v.id
        for v in engine.getProperty("voices")
        if any(lang == "es" or lang.startswith("es-") for lang in _languages(v))
    ]


def _resolve_voice(engine: Any, wanted: str | None) -> str:
    voices = engine.getProperty("voices")
    ids = {v.id.lower(): v.id for v in voices}
    if wanted is not None:
        key = wanted.lower()
        for v in voices:  # accept the id, its last part ("es-419") or the language code
            if key in (v.id.lower(), v.id.lower().rsplit("/", 1)[-1], *_languages(v)):
                return v.id
        raise TtsError(f"voice {wanted!r} not found; Spanish voices available: {spanish_voices(engine)}")
    for candidate in DEFAULT_VOICES:
        if candidate in ids:
            return ids[candidate]
    spanish = spanish_voices(engine)
    if spanish:
        return spanish[0]
    raise TtsError(
        f"no Spanish voice in espeak-ng (tried {DEFAULT_VOICES} and any 'es*' language); "
        f"{len(voices)} voices installed - is the espeak-ng-data package complete?"
    )


class EspeakTts:
    """Spanish TTS through pyttsx3 + espeak-ng, off the event loop, with a small LRU cache.

    Use ``async with EspeakTts() as tts:`` (or :meth:`start` / :meth:`aclose`). Calls made before
    :meth:`start` start it implicitly. Output is 22.05 kHz mono int16; the pacer resamples it.
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
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak-tts")
        self._engine: Any = None  # touched only on the worker thread
        self._voice: str | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False
        self.warm_up_s: float | None = None
        self.cancelled_attempts = 0  # utterances pyttsx3 cancelled and we retried (should stay 0)

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
        """Create the engine on the worker thread, pick the voice and (optionally) warm it up."""
        async with self._start_lock:
            if self._closed:
                raise TtsError("EspeakTts is closed")
            if self._voice is not None:
                return
            loop = asyncio.get_running_loop()
            try:
                voice = await loop.run_in_executor(self._executor, self._open_blocking)
                if self._warm_up:
                    t0 = time.perf_counter()
                    self._voice = voice  # the warm-up speaks with the chosen voice
                    await loop.run_in_executor(self._executor, self._synthesize_blocking, "Hola.")
                    self.warm_up_s = time.perf_counter() - t0
            except BaseException:
                # `async with` does not call __aexit__ when __aenter__ fails: free the thread here.
                self._voice = None
                await self.aclose()
                raise
            self._voice = voice

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
        loop = asyncio.get_running_loop()
        clip = await loop.run_in_executor(self._executor, self._synthesize_blocking, text)
        self.cache.put(key, clip)
        return clip

    async def aclose(self) -> None:
        """Finish queued work and stop the worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.cache.clear()
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown_blocking)

    # -- worker-thread side ------------------------------------------------------------------

    def _shutdown_blocking(self) -> None:
        self._executor.submit(self._release_blocking)
        self._executor.shutdown(wait=True, cancel_futures=False)

    def _release_blocking(self) -> None:
        with _ESPEAK_LOCK:
            self._engine = None  # pyttsx3 keeps the engine only while someone references it

    def _open_blocking(self) -> str:
        import pyttsx3  # imported here: loading libespeak is only needed by processes that speak

        with _ESPEAK_LOCK:
            try:
                self._engine = pyttsx3.init("espeak")
            except Exception as exc:  # missing libespeak-ng.so.1 surfaces as OSError/RuntimeError
                raise TtsError(f"cannot start pyttsx3 with espeak-ng: {exc}") from exc
            _quiet_driver()
            _disarm_stop(self._engine)
            return _resolve_voice(self._engine, self._wanted_voice)

    def _synthesize_blocking(self, text: str) -> AudioClip:
        fd, path = tempfile.mkstemp(prefix="tts-", suffix=".wav")
        os.close(fd)
        try:
            for attempt in range(1, _ATTEMPTS + 1):
                if self._run_engine_blocking(text, path):
                    break
                self.cancelled_attempts += 1
                if attempt == _ATTEMPTS:
                    raise TtsError(f"espeak-ng synthesis was cancelled {_ATTEMPTS} times for {text[:40]!r}")
            clip = read_wav(path)
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        if len(clip.pcm) == 0:
            raise TtsError(f"espeak-ng produced no audio for {text[:40]!r}")
        return clip

    def _run_engine_blocking(self, text: str, path: str) -> bool:
        """One save_to_file + runAndWait; True when the WAV at ``path`` is complete."""
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def on_finished(**kwargs: Any) -> None:  # runs on espeak's own thread
            outcome.update(kwargs)
            done.set()

        with _ESPEAK_LOCK:
            engine = self._engine
            if engine is None:
                raise TtsError("EspeakTts is closed")
            token = engine.connect("finished-utterance", on_finished)
            try:
                # Voice and rate are process-wide in libespeak, so they are set whenever they differ
                # from what was last applied, and only then: each change is a command queued for
                # espeak's thread, and a busy espeak at runAndWait() cancels the new utterance.
                wanted = (self._voice, self._rate, self._volume)
                if _APPLIED_PROPERTIES.get(id(engine)) != wanted:
                    engine.setProperty("voice", self._voice)
                    engine.setProperty("rate", self._rate)
                    engine.setProperty("volume", self._volume)
                    _APPLIED_PROPERTIES[id(engine)] = wanted
                _wait_espeak_idle()
                engine.save_to_file(text, path)
                engine.runAndWait()
                if not done.wait(self._timeout_s):
                    raise TtsError(
                        f"espeak-ng did not finish within {self._timeout_s}s "
                        "(another pyttsx3 engine in this process may have taken its callback)"
                    )
            finally:
                engine.disconnect(token)
        return bool(outcome.get("completed", False))


def _disarm_stop(engine: Any) -> None:
    """Make the espeak driver's ``stop()`` a no-op for this engine.

    ``runAndWait()`` queues ``endLoop``, which calls ``driver.stop()``; if libespeak still reports
    "playing" at that instant (the tail of the previous utterance, seen under CPU load even after
    two idle reads), ``stop()`` arms a cancel that kills the utterance about to start. Nothing here
    ever needs to stop espeak mid-utterance (a barge-in stops playback, not synthesis), so the
    cancel is removed at its source; the idle wait and the retry stay as further lines of defence.
    """
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    if driver is not None and hasattr(driver, "stop"):
        driver.stop = lambda: None


def _quiet_driver() -> None:
    """Send the espeak driver's ``print`` calls ("Audio saved to ...") to the debug log.

    A module global named ``print`` shadows the builtin for that module only, so nothing else in
    the process is affected (unlike swapping ``sys.stdout``, which every thread shares).
    """
    try:
        from pyttsx3.drivers import espeak as driver
    except ImportError:
        return
    driver.print = lambda *args, **_: log.debug("pyttsx3: %s", " ".join(map(str, args)))


def _wait_espeak_idle(limit_s: float = 1.0) -> None:
    """Wait until libespeak's command thread is idle before ``runAndWait()``.

    In the asynchronous mode pyttsx3 uses, ``setProperty`` (voice, rate) is *queued* for espeak's
    thread, and the tail of the previous utterance keeps it busy for ~20 us after
    ``finished-utterance``. ``runAndWait()`` calls the driver's ``stop()``, which, if espeak is
    still busy then, arms a cancel that kills the *new* utterance (``completed=False``). pyttsx3
    has no public call for this, so its own ctypes binding is used; the retry in
    ``_synthesize_blocking`` is the second line of defence.
    """
    try:
        from pyttsx3.drivers import _espeak
    except ImportError:
        return
    deadline = time.monotonic() + limit_s
    # Idle must hold on two reads 1 ms apart: under CPU load espeak's thread can report idle
    # between the end of one utterance's audio and its final bookkeeping.
    while time.monotonic() < deadline:
        if not _espeak.IsPlaying():
            time.sleep(0.001)
            if not _espeak.IsPlaying():
                return
        time.sleep(0.0005)
