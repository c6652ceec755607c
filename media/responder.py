"""What the turn loop needs from whoever decides what to say.

`media` owns this interface and knows nothing else of the brain: the collections agent (`agent/`)
implements it, and so does any other kind of conversation. A reply is a stream of items: a `str` is
a sentence to speak; anything else is an `Action` the call carries out (a tool call), never spoken.

An action is carried out before the reply goes on, and its result reaches the brain that asked for
it: whoever plays the reply (`media.reply.ReplyPlayer`) hands the action to the call's sink, stores
what the sink returns on the action (`action.result`, an `ActionResult`), and only then asks the
reply for its next item. So a brain written as an async generator reads the result right after its
`yield` resumes, with no callback and no shared state:

    promise = ToolCall(...)
    yield promise                      # the call runs it here, before the generator resumes
    if promise.result and not promise.result.ok:
        yield "No pude registrarlo: ..."   # never "quedó registrado"

A brain that forwards another's items (the LLM agent falling back to the rule engine, the inbound
agent handing over to the debtor's) yields the same object, so the result reaches the one that made
it. With no sink (a voice check, a call that keeps no record), nothing carries the action out and its
result is `ActionResult.UNRECORDED`: ok, nothing refused it, nothing was kept. An action read with
no player at all (a brain driven bare, in a test) keeps `result` None, which brains read the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

__all__ = ["UNCLEAR_AMOUNT", "Action", "ActionResult", "ReplyItem", "Responder"]

#: In the text a brain is given, where the caller said an amount the recogniser could not be trusted
#: on (`media.stt.numbers`: implausible against the debt). The brain reads it as "an amount I did not
#: get" and asks again; it is never a figure. No "no" in it: a mask must not read as a negation.
UNCLEAR_AMOUNT = "[monto incierto]"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What carrying out an action came to: done, or refused with a code and why.

    `text` is the one human-readable line (what is journaled, and what a model is told back);
    `code`, `detail` and `limit` say why a refusal happened, for a brain to answer in its own words.
    """

    ok: bool
    text: str
    code: str = ""  # a refusal's reason, as the record names it ("date_after_max"); "" when done
    detail: str = ""  # a refusal's particulars ("the debt must be paid by 2026-12-20")
    limit: str = ""  # the bound crossed, as the record holds it ("2026-12-20", "185000"), when there is one

    UNRECORDED: ClassVar[ActionResult]

    @classmethod
    def done(cls, text: str = "ok") -> ActionResult:
        return cls(True, text)

    @classmethod
    def refused(cls, code: str, detail: str, limit: str = "") -> ActionResult:
        return cls(False, f"refused: {code}: {detail}", code, detail, limit)


ActionResult.UNRECORDED = ActionResult(True, "ok: not recorded (this call keeps no record)")


class Action(Protocol):
    """Something a reply asks the call to do (a tool call). The loop reads its name, and sets its
    `result` once the call carried it out (None until then)."""

    @property
    def name(self) -> str: ...

    result: ActionResult | None


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

    def retract_last_reply(self) -> bool:
        """The caller went on talking right after the last turn was taken: it was a pause, not the turn's
        end. Forget that turn and the reply to it, as if never heard (its words come again, joined to what
        follows). False when that cannot be undone (e.g. an inbound caller's identification)."""

    @property
    def finished(self) -> bool:
        """True once the brain has closed the conversation: the loop hangs up after its last words."""
