"""Spanish as the correction stage needs it: which words are common, and how a word sounds.

Both answer one question, "may this word be replaced by a vocabulary term that sounds like it?":
a common Spanish word ("duda", "cortas" is not one) was probably heard right even when it sounds
like a collections term ("deuda"), so only rare words are corrected outside a number's context.

The frequencies are pyspellchecker's Spanish list (86k words, from OpenSubtitles), read straight
from its data file: no spell-checking is done with it.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from importlib import resources

from media.text import fold

__all__ = ["COMMON_MIN_FREQUENCY", "is_common", "phonetic_key", "word_frequencies"]

#: A word seen this often in the list is an ordinary word, not a mishearing (tuned on nothing: the
#: list's 1000th most frequent word sits around 60,000; 1,000 keeps ~20k everyday words).
COMMON_MIN_FREQUENCY = 1000


@functools.cache
def word_frequencies() -> dict[str, int]:
    """Folded word -> frequency (loaded once per process, ~0.3 s: call it off the event loop first)."""
    try:
        data = resources.files("spellchecker") / "resources" / "es.json.gz"
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
            table: dict[str, int] = json.load(f)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RuntimeError("the Spanish word list is missing: pip install pyspellchecker") from exc
    out: dict[str, int] = {}
    for word, freq in table.items():
        key = fold(word)
        out[key] = max(out.get(key, 0), int(freq))
    return out


def is_common(word: str) -> bool:
    """An everyday word. The list holds few plurals ("cosa" but not "cosas"), so a plural counts by its
    singular."""
    table = word_frequencies()
    word = fold(word)
    forms = [word]
    if word.endswith("ces"):
        forms.append(word[:-3] + "z")  # vez/veces, luz/luces
    if word.endswith("s"):
        forms += [word[:-1], word[:-2]]
    return any(table.get(form, 0) >= COMMON_MIN_FREQUENCY for form in forms)


# Spanish spelling -> sound, in order: digraphs first. Latin-American seseo and yeísmo (c/z/s, ll/y)
# and b/v are one sound each; h is silent; the key keeps vowels (Spanish vowels are stable, and they
# tell "cuota" from "cata").
_RULES = (
    (re.compile(r"ch"), "X"),
    (re.compile(r"qu(?=[ei])"), "k"),
    (re.compile(r"gu(?=[ei])"), "g"),
    (re.compile(r"g(?=[ei])"), "j"),
    (re.compile(r"c(?=[ei])"), "s"),
    (re.compile(r"ll"), "y"),
    (re.compile(r"h"), ""),
    (re.compile(r"[cq]"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "b"),
    (re.compile(r"w"), "u"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"rr"), "r"),
    (re.compile(r"(.)\1+"), r"\1"),
)


def phonetic_key(text: str) -> str:
    """How ``text`` sounds in Latin-American Spanish, spelled one way: "Gonzáles" == "gonzalez"."""
    key = re.sub(r"[^a-z ]", "", fold(text))
    for pattern, sound in _RULES:
        key = pattern.sub(sound, key)
    return key.replace(" ", "")
