"""The correction stage: every transcript passes the call's steps, in order, before anything reads it."""

from __future__ import annotations

import numpy as np

from media.audio import AudioClip
from media.stt import CorrectedStt, Transcript


class ScriptedStt:
    busy = False

    def __init__(self, text: str) -> None:
        self.text = text

    async def transcribe(self, clip: AudioClip) -> Transcript:
        return Transcript(self.text, "es", 0.8, clip.duration_s, 0.1)


class Replace:
    def __init__(self, old: str, new: str) -> None:
        self.name, self.old, self.new = f"{old}->{new}", old, new

    def correct(self, text: str) -> str:
        return text.replace(self.old, self.new)


CLIP = AudioClip(np.zeros(8000, dtype=np.int16), 8000)


async def test_steps_run_in_order_and_keep_the_rest_of_the_transcript(caplog) -> None:
    stt = CorrectedStt(ScriptedStt("mi salgo es cero"), [Replace("salgo", "saldo"), Replace("saldo", "saldo total")])
    with caplog.at_level("INFO", logger="media.stt.correct"):
        result = await stt.transcribe(CLIP)
    assert result.text == "mi saldo total es cero"
    assert (result.language, result.confidence, result.audio_s) == ("es", 0.8, 1.0)
    assert "'mi salgo es cero' -> 'mi saldo es cero'" in caplog.text  # before and after, for a supervisor


async def test_no_steps_hand_the_engine_result_through_unchanged() -> None:
    engine = ScriptedStt("hola")
    stt = CorrectedStt(engine)
    assert (await stt.transcribe(CLIP)).text == "hola"
    assert stt.busy is False
