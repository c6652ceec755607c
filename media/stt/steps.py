"""Correction steps that work on words: hallucinations, the operator's replacements, the vocabulary.

Each step takes a `Transcript` and returns it, changed or not (`media.stt.correct` chains them).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from media.stt.base import Transcript
from media.stt.lexicon import is_common, phonetic_key
from media.stt.vocabulary import NUMBER_UNITS, CallVocabulary
from media.text import fold

__all__ = ["HALLUCINATIONS", "DropHallucinations", "MatchVocabulary", "ReplaceHeard", "edit", "word_spans"]

#: Lines Whisper emits on silence, music or noise (folded). Dropped wherever they appear: no caller
#: says them to a collections agent.
HALLUCINATIONS = (
    "subtitulos realizados por la comunidad de amara.org",
    "subtitulos realizados por la comunidad de amara org",
    "subtitulos por la comunidad de amara.org",
    "subtitulado por la comunidad de amara.org",
    "gracias por ver el video",
    "gracias por ver",
    "suscribete al canal",
    "no olvides suscribirte",
)

_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of each word or number in ``text``."""
    return [(m.start(), m.end(), fold(m.group())) for m in _WORD_RE.finditer(text)]


def edit(transcript: Transcript, edits: Sequence[tuple[int, int, str]]) -> Transcript:
    """``transcript`` with each (start, end) span of its text replaced (spans must not overlap)."""
    if not edits:
        return transcript
    text = transcript.text
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return dataclasses.replace(transcript, text=" ".join(text.split()))


class DropHallucinations:
    """Subtitle credits and a phrase looping: none of it was said. (A prompt read back over silence is
    the engine's to drop: it knows the prompt it gave, `media.stt.whisper`.)"""

    name = "hallucination"

    def correct(self, transcript: Transcript) -> Transcript:
        folded = fold(transcript.text)
        text = transcript.text
        for line in HALLUCINATIONS:
            at = folded.find(line)
            if at >= 0:  # folding keeps lengths for Spanish letters, so the span maps back
                text = text[:at] + text[at + len(line):]
                folded = folded[:at] + folded[at + len(line):]
        text = _unloop(text)
        text = "" if not re.search(r"\w", text) else " ".join(text.split())
        return transcript if text == transcript.text else dataclasses.replace(transcript, text=text)


def _unloop(text: str) -> str:
    """A phrase of 1-4 words said 4 times or more in a row is Whisper looping: keep it once."""
    return re.sub(r"\b((?:\w+\W+){1,4}?)\1{3,}", r"\1", text + " ").strip()


class ReplaceHeard:
    """The operator's list: heard words -> the words meant, whole words, any case or accents."""

    name = "replace"

    def __init__(self, replacements: Sequence[tuple[str, str]]) -> None:
        self._rules = [(tuple(w for _, _, w in word_spans(heard)), meant) for heard, meant in replacements]
        self._rules = [(heard, meant) for heard, meant in self._rules if heard]

    def correct(self, transcript: Transcript) -> Transcript:
        for heard, meant in self._rules:
            spans = word_spans(transcript.text)
            words = [w for _, _, w in spans]
            n = len(heard)
            edits = []
            i = 0
            while i + n <= len(words):
                if tuple(words[i:i + n]) == heard:
                    edits.append((spans[i][0], spans[i + n - 1][1], meant))
                    i += n
                else:
                    i += 1
            transcript = edit(transcript, edits)
        return transcript


# --------------------------------------------------------------------------- the vocabulary, by sound
_DIM = 256


def _vector(key: str) -> np.ndarray:
    """Character 1-3-grams of a phonetic key, hashed into a unit vector (cosine = shared sound pieces)."""
    v = np.zeros(_DIM, np.float32)
    padded = f"^{key}$"
    for n in (1, 2, 3):
        for i in range(len(padded) - n + 1):
            v[hash_gram(padded[i:i + n]) % _DIM] += 1.0 if n == 1 else 2.0
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def hash_gram(gram: str) -> int:
    # Python's str hash is salted per process; a stable one keeps the index the same run to run.
    h = 2166136261
    for ch in gram.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


class MatchVocabulary:
    """Words and short phrases that sound like a vocabulary term become the term.

    Candidates come from a vector search (faiss, inner product over character n-grams of the phonetic
    key: "fala bella" finds "Falabella"), and are accepted by the edit similarity of the keys
    (rapidfuzz). A common Spanish word is left alone unless it sits where only a unit can (right after a
    number), so "tengo una duda" never becomes "deuda"; proper names need a closer match than the trade's
    words, because a wrong name is worse than a missed one.
    """

    name = "vocabulary"
    NAME_MIN = 86.0  # rapidfuzz ratio of the phonetic keys, 0-100
    TERM_MIN = 85.0
    UNIT_MIN = 66.0
    COMMON_UNIT_MIN = 82.0  # "3 cortas" is cuotas, "3 veces" (80 against "meses") stays
    MAX_WORDS = 3

    def __init__(self, vocabulary: CallVocabulary) -> None:
        import faiss  # the vector index; imported here so a process without the stage never loads it

        entries: list[tuple[str, str, float]] = []  # (display form, phonetic key, min ratio)
        for name in vocabulary.names:
            entries.append((name, phonetic_key(name), self.NAME_MIN))
            entries += [(part, phonetic_key(part), self.NAME_MIN) for part in name.split() if len(part) >= 5]
        entries += [(term, phonetic_key(term), self.TERM_MIN) for term in vocabulary.terms]
        self._entries = [e for e in dict.fromkeys(entries) if len(e[1]) >= 3]
        self._units = [(u, phonetic_key(u)) for u in NUMBER_UNITS]
        self._index: Any = None
        if self._entries:
            self._index = faiss.IndexFlatIP(_DIM)
            self._index.add(np.stack([_vector(key) for _, key, _ in self._entries]))

    def correct(self, transcript: Transcript) -> Transcript:
        from rapidfuzz.fuzz import ratio

        spans = word_spans(transcript.text)
        edits: list[tuple[int, int, str]] = []
        taken: set[int] = set()
        for n in range(self.MAX_WORDS, 0, -1):
            for i in range(len(spans) - n + 1):
                if taken & set(range(i, i + n)):
                    continue
                words = [w for _, _, w in spans[i:i + n]]
                if any(w.isdigit() or w[0].isdigit() for w in words):
                    continue
                best = self._best(words, ratio, after_number=i > 0 and spans[i - 1][2][0].isdigit())
                if best is not None:
                    original = transcript.text[spans[i][0]:spans[i + n - 1][1]]
                    if fold(original) != fold(best):
                        edits.append((spans[i][0], spans[i + n - 1][1], best))
                    taken |= set(range(i, i + n))
        return edit(transcript, edits)

    def _best(self, words: list[str], ratio: Any, *, after_number: bool) -> str | None:
        key = phonetic_key(" ".join(words))
        if len(key) < 4:
            return None
        if after_number and len(words) == 1:  # "3 cortas": only a unit fits here
            unit, score = max(((u, ratio(key, k)) for u, k in self._units), key=lambda x: x[1])
            if score >= (self.COMMON_UNIT_MIN if is_common(words[0]) else self.UNIT_MIN):
                return unit
        if self._index is None:
            return None
        _, found = self._index.search(_vector(key)[None], min(5, len(self._entries)))
        best: tuple[float, str] | None = None
        for j in found[0]:
            if j < 0:
                continue
            display, term_key, needed = self._entries[j]
            score = ratio(key, term_key)
            # Same length of sound too ("cotas" ~ "cuotas"), and closer for a phrase: "soy María González" is
            # the name with a word before it, "fala bella" the name heard in two pieces.
            alike = 0.9 if len(words) > 1 else 0.8
            if score < needed or min(len(key), len(term_key)) < alike * max(len(key), len(term_key)):
                continue
            if len(words) > 1 and fold(display) in words:
                continue  # "transferencia la": the term is there already, with a word beside it
            exact = " ".join(words) == fold(display)
            if (exact or len(words) > 1 or not is_common(words[0]) or score == 100.0) and (
                    best is None or score > best[0]):
                best = (score, display)  # the closest of the candidates: "cotas" is "cuotas", not "cuota"
        return best[1] if best else None
