"""One normal form of a transcript for every rule in `agent.nlu`.

Whisper is inconsistent about case, accents and punctuation, writes "..." where the voice trailed
off, and on silence or noise sometimes produces a line from its training subtitles ("Subtítulos
realizados por la comunidad de Amara.org"). The rules match on lower-case, accent-free words, so
all of that is removed here once. Numbers keep their separators ("104.050", "15/12", "10:30",
"12.345.678-5") because the separator says what the number is: an amount, a date, a time, a RUT.
"""

from __future__ import annotations

import re
import unicodedata

from media.text import strip_accents

__all__ = ["accented_words", "normalise"]

# Digit groups with their separators kept together; a RUT's check letter rides along ("9.876.543-k").
# Words are letters only, so "1ro" is "1" + "ro" and "amara.org" is "amara" + "org".
_TOKEN_RE = re.compile(r"\d+(?:[.,:/-]\d+)*(?:-k\b)?|[a-zñ]+")
_ACCENTED_TOKEN_RE = re.compile(r"\d+(?:[.,:/-]\d+)*|[^\W\d_]+")

# "$104.050" and "$ 104.050" are amounts; the sign is the only thing saying so, so it becomes a word.
_DOLLAR_RE = re.compile(r"\$\s*(\d[\d.,]*\d|\d)")
_ELLIPSIS_RE = re.compile(r"\.{2,}|…")

#: Lines Whisper emits on silence, music or noise (normalised). Dropped wherever they appear: no
#: caller says them to a collections agent.
HALLUCINATIONS = (
    "subtitulos realizados por la comunidad de amara org",
    "subtitulos por la comunidad de amara org",
    "subtitulado por la comunidad de amara org",
    "gracias por ver el video",
    "gracias por ver",
    "suscribete al canal",
    "no olvides suscribirte",
)


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    text = _DOLLAR_RE.sub(r" \1 pesos ", text)
    return _ELLIPSIS_RE.sub(" ", text)


def normalise(text: str) -> str:
    """Space-separated lower-case words without accents or punctuation; numbers keep separators.

    >>> normalise("¡Sí! Le pago $104.050 el 15/12...")
    'si le pago 104.050 pesos el 15/12'
    """
    words = " ".join(_TOKEN_RE.findall(strip_accents(_prepare(text))))
    for line in HALLUCINATIONS:
        if line in words:
            words = " ".join(re.sub(rf"\b{line}\b", " ", words).split())
    return words


def accented_words(text: str) -> str:
    """Like :func:`normalise` but keeping accents, for the few words whose accent is their meaning.

    "pagué"/"pagó" (paid) and "pague"/"pago" (may pay / I pay) differ only by the accent, and
    Whisper writes it most of the time; when it does, it settles the tense.
    """
    return " ".join(_ACCENTED_TOKEN_RE.findall(_prepare(text)))
