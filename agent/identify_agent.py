"""The agent for a caller nobody recognised by number: asks for the RUT and a second factor, then hands over.

An inbound caller whose number matches no debtor (a work phone, a withheld number) keys their
RUT ('*' for a K check digit, '#' to finish) or says it. A RUT is no secret (it is on every invoice),
so it only names who the caller claims to be: `lookup` (given by the application, which owns the
database) checks it and returns a `PendingIdentity`, and the caller then keys (or says) the last four
digits of a phone on file for that debtor. Only when those match does the debtor's own agent run the
call, from the notice and the debt on. Until then nothing about any debt is said, and '0' or asking
for a person reaches one. The application also refuses lookups (`IdentificationLocked`) from a
number that failed too often today: a RUT list cannot be tried one by one by phone.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Protocol

from agent.llm import ToolCall
from agent.nlu.intents import Intent, understand
from agent.nlu.numbers import dictated_digits
from agent.protocol import Agent, AgentOutput
from agent.vocabulary import ToolName

MAX_TRIES = 3  # then a person helps, as the caller is clearly trying


class DebtorAgent(Agent, Protocol):
    def identified(self) -> list[str]:
        """The caller proved who they are another way (their RUT): go on from the notice and the debt."""
        ...


class InvalidRut(ValueError):
    """The RUT's check digit does not match: a mistyped or misheard digit."""


class IdentificationLocked(Exception):
    """This caller failed to identify too often today: no more tries by phone, a person helps."""


class PendingIdentity(Protocol):
    """A RUT that is on file, not yet proven by the caller."""

    async def confirm(self, digits: str) -> DebtorAgent | None:
        """The debtor's agent when `digits` are the last four of a phone on file for them, else None."""
        ...


# (rut as keyed or heard, "dtmf" or "speech") -> the identity to confirm. Returned whether or not a debtor
# has the RUT: the caller learns only that RUT and digits together match or not, never whether someone
# with that RUT is in collections.
Lookup = Callable[[str, str], Awaitable[PendingIdentity]]
SECOND_FACTOR_DIGITS = 4

PROMPTS = {
    "ask_rut": ("Bienvenido. Para atenderle, marque su RUT con el dígito verificador y termine con la tecla gato. "
                "Si su dígito verificador es K, marque asterisco. También puede decirme su RUT, "
                "o marcar cero para hablar con un ejecutivo."),
    "invalid": "Ese RUT no es válido. Por favor, márquelo de nuevo, con el dígito verificador.",
    "ask_again": "Para ayudarle necesito su RUT. Márquelo con el dígito verificador y la tecla gato.",
    "ask_phone": ("Gracias. Para proteger sus datos, marque los últimos cuatro dígitos de un teléfono que "
                  "tengamos registrado a su nombre."),
    "mismatch": ("Esos datos no coinciden con nuestros registros. Por favor, marque su RUT de nuevo, con el "
                 "dígito verificador."),
    "locked": "Por su seguridad, no puedo verificar su identidad por teléfono en este momento.",
    "transfer": "Muy bien, le comunico con un ejecutivo. Por favor espere en línea.",
    "reprompt": "¿Aló? ¿Me escucha?",
    "no_input_goodbye": "Como no le escucho, voy a cortar. Que tenga un buen día.",
}


class IdentifyingAgent:
    def __init__(self, lookup: Lookup, *, clock: Callable[[], datetime]) -> None:
        self._lookup = lookup
        self._clock = clock
        self._debtor: DebtorAgent | None = None
        self._pending: PendingIdentity | None = None  # a RUT was given; the phone digits are asked
        self._tries = 0
        self._transferred = False
        self._ids = itertools.count(1)
        self._debtor_before_reply = False  # the last reply was the identified debtor's agent's own

    @property
    def identified_agent(self) -> DebtorAgent | None:
        return self._debtor

    def greeting(self) -> str:
        return PROMPTS["ask_rut"]

    def reprompt(self) -> str:
        return self._debtor.reprompt() if self._debtor else PROMPTS["reprompt"]

    def farewell(self) -> str:
        return self._debtor.farewell() if self._debtor else PROMPTS["no_input_goodbye"]

    def correct_last_reply(self, spoken: str) -> None:
        if self._debtor:
            self._debtor.correct_last_reply(spoken)

    def retract_last_reply(self) -> bool:
        # Identifying the caller (a RUT looked up, the debtor's agent taken over) is not undone.
        return self._debtor.retract_last_reply() if self._debtor and self._debtor_before_reply else False

    @property
    def finished(self) -> bool:
        return self._debtor.finished if self._debtor else self._transferred

    @property
    def keys_expected(self) -> int:
        # 8 digits and the check digit complete a RUT; a 7-digit one ends with '#' or a pause.
        if self._debtor:
            return self._debtor.keys_expected
        return SECOND_FACTOR_DIGITS if self._pending else 9

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        self._debtor_before_reply = False  # keys are never a pause in a sentence
        if self._debtor:
            async for item in self._debtor.keys(entry):
                yield item
            return
        if entry == "0":
            for item in self._transfer("the caller pressed 0 before identifying"):
                yield item
            return
        if self._pending:
            async for item in self._confirm(entry):
                yield item
            return
        async for item in self._identify(entry.replace("*", "K"), "dtmf"):
            yield item

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        self._debtor_before_reply = self._debtor is not None
        if self._debtor:
            async for item in self._debtor.reply(user_text):
                yield item
            return
        heard = understand(user_text, self._clock())
        if heard.intent is Intent.HUMAN:
            for item in self._transfer("the caller asked for a person before identifying"):
                yield item
        elif self._pending:
            digits = dictated_digits(user_text, SECOND_FACTOR_DIGITS)
            if digits is None:
                for item in self._failed("ask_phone"):
                    yield item
            else:
                async for item in self._confirm(digits):
                    yield item
        elif heard.rut:
            async for item in self._identify(heard.rut, "speech"):
                yield item
        else:
            for item in self._failed("ask_again"):
                yield item

    async def _identify(self, rut: str, how: str) -> AsyncIterator[AgentOutput]:
        try:
            pending = await self._lookup(rut, how)
        except InvalidRut:
            for item in self._failed("invalid"):
                yield item
            return
        except IdentificationLocked:
            for item in self._transfer("too many failed identifications from this number today", "locked"):
                yield item
            return
        self._pending = pending
        yield PROMPTS["ask_phone"]

    async def _confirm(self, digits: str) -> AsyncIterator[AgentOutput]:
        assert self._pending is not None
        debtor = await self._pending.confirm(digits)
        if debtor is None:
            self._pending = None  # which of the two was wrong is not told: both again
            for item in self._failed("mismatch"):
                yield item
            return
        self._debtor, self._pending = debtor, None
        for line in debtor.identified():
            yield line

    def _failed(self, prompt: str) -> list[AgentOutput]:
        self._tries += 1
        if self._tries >= MAX_TRIES:
            return self._transfer(f"the caller could not be identified after {self._tries} tries")
        return [PROMPTS[prompt]]

    def _transfer(self, reason: str, why: str | None = None) -> list[AgentOutput]:
        self._transferred = True
        return [*([PROMPTS[why]] if why else []), PROMPTS["transfer"],
                ToolCall(f"identify-{next(self._ids)}", ToolName.TRANSFER_TO_AGENT, {"reason": reason})]
