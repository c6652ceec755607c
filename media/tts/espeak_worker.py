"""The pyttsx3/espeak-ng engine itself, run in a worker process of its own (see `media.tts.EspeakTts`).

Why a process: libespeak-ng is a process-wide singleton driven by pyttsx3 in espeak's asynchronous
mode, and under load it has crashed the whole process (a segmentation fault inside `espeak_Synth`,
seen once in a CI run in the middle of a lab call). In the call center's own process that would end
every call in progress; in a worker process it costs one phrase, which `EspeakTts` synthesises again
in a new worker. One process per `EspeakTts` also gives each its own voice and rate, so two engines
no longer take turns on one libespeak.

What pyttsx3 2.99's espeak driver really does (measured here, see also LAB.md):

* It initialises libespeak-ng in ``AUDIO_OUTPUT_RETRIEVAL`` mode, which is *asynchronous*: the
  audio is produced, and the WAV file written, on espeak's own thread. ``runAndWait()`` returns
  after a fixed 10 ms sleep, not when the file is written. The cold first synthesis of a process
  takes longer than that, hence "the first ``save_to_file`` is lost"; a long text loses the race
  even when warm. We therefore wait for the driver's ``finished-utterance`` notification, which it
  sends only after the WAV is closed.
* The driver prints ``Audio saved to <file>`` on stdout for every synthesis; the driver module's
  ``print`` is pointed at a debug log instead (see :func:`_quiet_driver`).

Everything here blocks; it runs only in the worker process, one call at a time. The functions at
the bottom (`open_engine`, `synthesize`, `worker_pid`) are what the parent submits to it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from typing import Any

from media.audio import AudioClip, read_wav
from media.tts.base import TtsError

__all__ = ["DEFAULT_VOICES", "EspeakEngine", "open_engine", "spanish_voices", "synthesize", "worker_pid"]

log = logging.getLogger(__name__)

DEFAULT_VOICES = ("roa/es-419", "roa/es")  # Latin American Spanish first, then Spain
_ATTEMPTS = 2  # a cancelled utterance (see _wait_espeak_idle) is retried once


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


class EspeakEngine:
    """One pyttsx3 engine with its voice, rate and volume: blocking, for one thread of one process."""

    def __init__(self, voice: str | None, rate: int, volume: float, timeout_s: float) -> None:
        import pyttsx3  # imported here: loading libespeak is only needed by the process that speaks

        try:
            self._engine = pyttsx3.init("espeak")
        except Exception as exc:  # missing libespeak-ng.so.1 surfaces as OSError/RuntimeError
            raise TtsError(f"cannot start pyttsx3 with espeak-ng: {exc}") from exc
        _quiet_driver()
        _disarm_stop(self._engine)
        self.voice = _resolve_voice(self._engine, voice)
        self._engine.setProperty("voice", self.voice)
        self._engine.setProperty("rate", rate)
        self._engine.setProperty("volume", volume)
        self._timeout_s = timeout_s
        self.cancelled_attempts = 0  # utterances pyttsx3 cancelled and we retried (should stay 0)

    def synthesize(self, text: str) -> AudioClip:
        fd, path = tempfile.mkstemp(prefix="tts-", suffix=".wav")
        os.close(fd)
        try:
            for attempt in range(1, _ATTEMPTS + 1):
                if self._run_once(text, path):
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

    def _run_once(self, text: str, path: str) -> bool:
        """One save_to_file + runAndWait; True when the WAV at ``path`` is complete."""
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def on_finished(**kwargs: Any) -> None:  # runs on espeak's own thread
            outcome.update(kwargs)
            done.set()

        token = self._engine.connect("finished-utterance", on_finished)
        try:
            _wait_espeak_idle()
            self._engine.save_to_file(text, path)
            self._engine.runAndWait()
            if not done.wait(self._timeout_s):
                raise TtsError(f"espeak-ng did not finish within {self._timeout_s}s")
        finally:
            self._engine.disconnect(token)
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


# --- the worker process's side: one engine per process, set up by `open_engine` -------------------

_ENGINE: EspeakEngine | None = None


def open_engine(voice: str | None, rate: int, volume: float, timeout_s: float) -> str:
    """Start this process's engine; the resolved voice id."""
    global _ENGINE
    _ENGINE = EspeakEngine(voice, rate, volume, timeout_s)
    return _ENGINE.voice


def synthesize(text: str) -> tuple[AudioClip, int]:
    """The clip of ``text`` and how many utterances espeak cancelled so far (retried here)."""
    if _ENGINE is None:
        raise TtsError("the espeak worker has no engine (open_engine was not called)")
    return _ENGINE.synthesize(text), _ENGINE.cancelled_attempts


def worker_pid() -> int:
    return os.getpid()
