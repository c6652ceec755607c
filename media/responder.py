"""What the turn loop needs from whoever decides what to say.

`media` owns this interface and knows nothing else of the brain: the collections agent (`agent/`)
implements it, and so does any other kind of conversation. A reply is a stream of items: a `str` is
a sentence to speak; anything else is an `Action` the call carries out (a tool call), never spoken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

__all__ = ["Action", "ReplyItem", "Responder"]


class Action(Protocol):
    """Something a reply asks the call to do (a tool call); the loop only reads its name."""

    @property
    def name(self) -> str: ...


ReplyItem = str | Action


class Responder(Protocol):
    def greeting(self) -> str: ...

    def reply(self, user_text: str) -> AsyncIterator[ReplyItem]: ...

    def keys(self, entry: str) -> AsyncIterator[ReplyItem]:
        """The caller's DTMF entry (`media.keypad`): a menu key, or digits such as a RUT."""

    @property
    def keys_expected(self) -> int:
        """How many keys complete an entry now without '#' (1: a menu answer acts at once)."""

    def reprompt(self) -> str: ...

    def farewell(self) -> str: ...

    def correct_last_reply(self, spoken: str) -> None:
        """After a barge-in: remember only what the caller actually heard."""

    @property
    def finished(self) -> bool:
        """True once the brain has closed the conversation: the loop hangs up after its last words."""
