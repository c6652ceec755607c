"""Spanish text folded for matching: the one definition every rule that reads a transcript uses.

Recognisers are inconsistent about case and accents, so rules match lower-case words without
accents (the end-of-turn rules here, the agent's understanding in `agent.nlu`). The few words whose
accent is their meaning ("sí"/"si", "pagué"/"pague") are read by those rules before folding.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "strip_accents"]


def strip_accents(text: str) -> str:
    """``text`` without combining marks: "sí" -> "si", "mañana" -> "manana", "ÑOÑO" -> "NONO"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def fold(text: str) -> str:
    """Lower case and no accents: "¿Qué PASA, señor?" -> "¿que pasa, senor?"."""
    return strip_accents(unicodedata.normalize("NFC", text).casefold())
