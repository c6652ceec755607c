"""The correction stage: every transcript passes the call's steps, in order, before anything reads it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from media.audio import AudioClip
from media.stt import UNCLEAR_AMOUNT, CallVocabulary, CorrectedStt, Transcript, Word, load_corrections
from media.stt.lexicon import is_common, phonetic_key


class ScriptedStt:
    """The recogniser's seat in the wrapper's tests: says one line, and remembers the prompt it got."""

    busy = False

    def __init__(self, text: str) -> None:
        self.text = text
        self.prompts: list[str | None] = []

    async def transcribe(self, clip: AudioClip, *, prompt: str | None = None) -> Transcript:
        self.prompts.append(prompt)
        return Transcript(self.text, "es", 0.8, clip.duration_s, 0.1)


class Replace:
    def __init__(self, old: str, new: str) -> None:
        self.name, self.old, self.new = f"{old}->{new}", old, new

    def correct(self, transcript: Transcript) -> Transcript:
        return dataclasses.replace(transcript, text=transcript.text.replace(self.old, self.new))


CLIP = AudioClip(np.zeros(8000, dtype=np.int16), 8000)
FACTS = {"debtor_name": "María González", "company": "Falabella", "balance": 104050, "installment": 34700,
         "due_date": "2026-12-15"}


@pytest.fixture(scope="module")
def call() -> CorrectedStt:
    return CorrectedStt.for_call(ScriptedStt(""), CallVocabulary.from_facts(FACTS, load_corrections()))


def heard(call: CorrectedStt, text: str, words: tuple[Word, ...] = ()) -> Transcript:
    return call.apply(Transcript(text, "es", 0.7, 2.0, 0.2, words))


async def test_steps_run_in_order_and_keep_the_rest_of_the_transcript(caplog) -> None:
    stt = CorrectedStt(ScriptedStt("mi salgo es cero"), [Replace("salgo", "saldo"), Replace("saldo", "saldo total")])
    with caplog.at_level("INFO", logger="media.stt.correct"):
        result = await stt.transcribe(CLIP)
    assert result.text == "mi saldo total es cero"
    assert result.raw_text == "mi salgo es cero"  # kept for the record
    assert (result.language, result.confidence, result.audio_s) == ("es", 0.8, 1.0)
    assert "'mi salgo es cero' -> 'mi saldo es cero'" in caplog.text  # before and after, for a supervisor


async def test_no_steps_hand_the_engine_result_through_unchanged() -> None:
    engine = ScriptedStt("hola")
    stt = CorrectedStt(engine)
    result = await stt.transcribe(CLIP)
    assert result.text == "hola" and result.raw_text is None
    assert stt.busy is False


async def test_the_call_s_names_are_the_recogniser_s_prompt() -> None:
    engine = ScriptedStt("hola")
    stt = CorrectedStt.for_call(engine, CallVocabulary.from_facts(FACTS), prompt_names=True)
    await stt.transcribe(CLIP)
    assert engine.prompts == ["María González, Falabella."]


@pytest.mark.parametrize(("said", "stored"), [
    ("Subtítulos realizados por la comunidad de Amara.org", ""),
    ("Gracias por ver el video.", ""),
    ("sí sí sí sí sí sí sí", "sí"),
    ("Sí, soy María González.", "Sí, soy María González."),  # the name said is kept
])
def test_hallucinations_are_dropped_and_speech_kept(call, said, stored) -> None:
    assert heard(call, said).text == stored


@pytest.mark.parametrize(("said", "stored"), [
    ("3 cortas de 50m", "3 cuotas de 50 mil"),  # operator list + unit after a number + Whisper's "m"
    ("pago en 3 cortas", "pago en 3 cuotas"),  # by sound, after a number
    ("le pago cincuenta lucas", "le pago cincuenta mil"),  # Chilean slang, from the bundled list
    ("Habla María Gonzales", "Habla María González"),  # the debtor's name by sound
    ("es por la tarjeta de fala bella", "es por la tarjeta de Falabella"),  # two words heard for one name
    ("tengo una duda", "tengo una duda"),  # an everyday word is never made into "deuda"
    ("lo intenté 3 veces", "lo intenté 3 veces"),  # "veces" is not "meses"
    ("mi root es 12.345.678-5", "mi RUT es 12.345.678-5"),  # a RUT is not an amount
])
def test_vocabulary_and_operator_list(call, said, stored) -> None:
    assert heard(call, said).text == stored


@pytest.mark.parametrize(("said", "stored"), [
    ("le pago 104.050 pesos", "le pago 104.050 pesos"),  # the balance
    ("le pago 104,050 pesos", "le pago 104.050 pesos"),  # Whisper's English separator, made one
    ("le abono 34.700", "le abono 34.700"),  # the instalment
    ("puedo 50 mil", "puedo 50 mil"),  # a round figure under the debt
    ("voy a pagar 14,550 pesos el viernes", f"voy a pagar {UNCLEAR_AMOUNT} el viernes"),  # a lost digit
    ("le pago 250 mil", f"le pago {UNCLEAR_AMOUNT}"),  # over the debt
    ("le doy 87.500", "le doy 87.500"),  # "ochenta y siete mil quinientos": round enough
    ("es el 18.230.456, 5", "es el 18.230.456, 5"),  # a RUT dictated, not an amount over the debt
    ("mi RUT, 20 millones 100, 11.222", "mi RUT, 20 millones 100, 11.222"),  # words after "RUT" are its digits
])
def test_amounts_are_checked_against_the_debt(call, said, stored) -> None:
    result = heard(call, said)
    assert result.text == stored
    assert bool(result.doubts) == (UNCLEAR_AMOUNT in stored)


def test_an_unsure_date_or_amount_word_is_a_doubt_left_for_the_read_back(call) -> None:
    words = (Word("le", 0.9), Word("pago", 0.9), Word("50", 0.2), Word("mil", 0.9), Word("el", 0.9),
             Word("viernes", 0.1))
    result = heard(call, "le pago 50 mil el viernes", words)
    assert result.text == "le pago 50 mil el viernes"  # kept: the promise's read-back confirms it
    assert len(result.doubts) == 2 and "50000" in result.doubts[0] and "viernes" in result.doubts[1]
    sure = tuple(Word(w.text, 0.9) for w in words)
    assert heard(call, "le pago 50 mil el viernes", sure).doubts == ()


def test_spanish_sounds_and_common_words() -> None:
    assert phonetic_key("González") == phonetic_key("gonsales") == phonetic_key("Gonzales")
    assert phonetic_key("vencida") == phonetic_key("bensida")
    assert phonetic_key("cuota") != phonetic_key("cata")
    assert is_common("duda") and is_common("cosas") and is_common("veces")


def test_the_operator_s_corrections_file(tmp_path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[replace]\n"tempo" = "Tenpo"\n[vocabulary]\nterms = ["Mach"]\n', encoding="utf-8")
    corrections = load_corrections(f)
    assert ("tempo", "Tenpo") in corrections.replace and "Mach" in corrections.terms
    stt = CorrectedStt.for_call(ScriptedStt(""), CallVocabulary.from_facts(None, corrections))
    assert stt.apply(Transcript("pago con la tempo", "es", 0.9, 1, 0)).text == "pago con la Tenpo"
    bad = tmp_path / "bad.toml"
    bad.write_text('[replace]\n"x" = 3\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.toml"):
        load_corrections(bad)
