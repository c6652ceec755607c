"""pyttsx3/espeak-ng TTS: real synthesis, off the event loop, first call not lost, cache."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media.tts import EspeakTts, TtsEngine, TtsError
from media.vad import rms_dbfs, speech_span

LONG_TEXT = "Buenos días, le habla el asistente virtual de cobranzas de la empresa. " * 6


async def test_synthesizes_spanish_speech() -> None:
    async with EspeakTts() as tts:
        assert isinstance(tts, TtsEngine)
        assert tts.voice == "roa/es-419"  # Latin American Spanish by default
        assert "roa/es-419" in tts.name
        clip = await tts.synthesize("Buenos días, ¿hablo con la señora Pérez?")
    assert clip.sample_rate == 22050
    assert 1.0 < clip.duration_s < 6.0
    assert rms_dbfs(clip.pcm) > -35
    span = speech_span(clip)
    assert span is not None and span[1] - span[0] > 1.0


async def test_duration_grows_with_text_and_shrinks_with_rate() -> None:
    async with EspeakTts(cache_size=0) as tts:
        texts = (
            "Hola.",
            "Hola, le llamo por su cuenta.",
            "Hola, le llamo por su cuenta pendiente de ciento cuatro mil pesos, con vencimiento el quince.",
        )
        short, medium, long = [(await tts.synthesize(t)).duration_s for t in texts]
    assert short < medium < long
    assert long > 4.0
    text = "Le recordamos que esta llamada puede ser grabada."
    async with EspeakTts(rate=120) as slow, EspeakTts(rate=240) as fast:
        slow_s, fast_s = await asyncio.gather(slow.synthesize(text), fast.synthesize(text))
    # rate is applied per call even though libespeak's rate is process-wide and both share it
    assert slow_s.duration_s > 1.5 * fast_s.duration_s


def test_first_synthesis_of_a_fresh_process_is_not_lost(tmp_path: Path) -> None:
    """pyttsx3's first runAndWait() returns before espeak wrote the file; without waiting for the
    finished-utterance notification a long first text comes back missing or truncated."""
    script = tmp_path / "first.py"
    script.write_text(
        "import asyncio\n"
        "from media.tts import EspeakTts\n"
        "async def main():\n"
        "    async with EspeakTts(warm_up=False) as tts:\n"
        f"        clip = await tts.synthesize({LONG_TEXT!r})\n"
        "        print('DURATION', clip.duration_s)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    durations = [float(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("DURATION")]
    assert durations and durations[0] > 20.0, out.stdout + out.stderr


async def test_event_loop_keeps_running_while_synthesizing() -> None:
    gaps: list[float] = []

    async def ticker() -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            gaps.append(time.perf_counter() - t)

    async with EspeakTts(cache_size=0) as tts:
        task = asyncio.create_task(ticker())
        clips = await asyncio.gather(*(tts.synthesize(f"Frase número {i}. " + LONG_TEXT) for i in range(6)))
        task.cancel()
        assert tts.cancelled_attempts == 0
    assert all(c.duration_s > 20 for c in clips)
    assert len(gaps) > 5 and max(gaps) < 0.05


async def test_two_instances_with_different_voices_interleave() -> None:
    async with EspeakTts() as latam, EspeakTts(voice="roa/es") as spain:
        assert spain.voice == "roa/es"
        results = await asyncio.gather(
            *[engine.synthesize(f"Prueba {i}.") for i in range(10) for engine in (latam, spain)]
        )
        assert all(len(c.pcm) > 0 for c in results)
        assert latam.cancelled_attempts == spain.cancelled_attempts == 0


async def test_lru_cache_for_fixed_phrases() -> None:
    async with EspeakTts(cache_size=2) as tts:
        greeting = await tts.synthesize("Hola, buenos días.")
        assert await tts.synthesize("  Hola,   buenos días. ") is greeting  # whitespace-normalised key
        await tts.synthesize("Aviso legal.")
        await tts.synthesize("Hola, buenos días.")  # refresh: now most recent
        await tts.synthesize("Tercera frase.")  # evicts "Aviso legal."
        assert await tts.synthesize("Hola, buenos días.") is greeting
        assert tts.cache.hits == 3
        misses = tts.cache.misses
        await tts.synthesize("Aviso legal.")
        assert tts.cache.misses == misses + 1


async def test_voice_selection_and_errors() -> None:
    async with EspeakTts(voice="es-419") as tts:
        assert tts.voice == "roa/es-419"
    broken = EspeakTts(voice="xx-nonexistent")
    with pytest.raises(TtsError, match=r"roa/es-419"):  # the message lists the Spanish voices
        async with broken:
            pass
    with pytest.raises(TtsError, match="closed"):  # a failed start released its worker thread
        await broken.synthesize("Hola.")
    tts = EspeakTts()
    assert (await tts.synthesize("   ")).duration_s == 0.0
    await tts.aclose()
    with pytest.raises(TtsError, match="closed"):
        await tts.synthesize("Hola.")
    with pytest.raises(ValueError):
        EspeakTts(rate=0)


async def test_synthesis_prints_nothing_on_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    """pyttsx3's driver prints "Audio saved to ..." per synthesis; stdout belongs to the app."""
    async with EspeakTts() as tts:
        await tts.synthesize("Buenas tardes, ¿cómo está?")
    assert capfd.readouterr().out == ""


async def test_a_worker_killed_by_a_crash_in_espeak_is_replaced_and_the_phrase_spoken() -> None:
    """libespeak-ng once segfaulted mid-call in CI; in the worker process that costs one phrase."""
    async with EspeakTts(cache_size=0) as tts:
        first = await tts.worker_pid()
        os.kill(first, signal.SIGSEGV)
        clip = await tts.synthesize("Le recordamos su compromiso de pago.")
        assert clip.duration_s > 1.0
        assert tts.worker_restarts == 1 and await tts.worker_pid() != first
        # A crash while a phrase is being synthesised: that phrase comes back all the same.
        second = await tts.worker_pid()
        pending = asyncio.ensure_future(tts.synthesize("Frase larga. " + LONG_TEXT * 4))  # about 0.8 s of work
        await asyncio.sleep(0.2)
        os.kill(second, signal.SIGSEGV)
        assert (await pending).duration_s > 80 and tts.worker_restarts == 2
