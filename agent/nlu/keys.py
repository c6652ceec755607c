"""A keyed menu answer, understood the way speech is (the keypad itself is `media.keypad`)."""

from __future__ import annotations

from agent.nlu.intents import Intent, Understanding

# The menu every agent announces the same way: 0 a person, 1 yes, 2 no.
MENU = {"0": Intent.HUMAN, "1": Intent.CONFIRM, "2": Intent.DENY}


def menu_choice(entry: str) -> Understanding:
    """A one-key menu answer as the rule engine understands speech; other entries are not understood."""
    return Understanding(MENU.get(entry, Intent.UNKNOWN), 1.0, matched=f"dtmf {entry}")
