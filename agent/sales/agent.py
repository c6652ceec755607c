"""The built-in sales agent: the offer of a sales script, its questions and objections, and the lead.

It runs a sales campaign's call when no LLM is configured, and answers any turn the LLM fails, as the
collections rule engine does for a debtor. The order is a sales call's: the person first (the offer is
personal), then who calls and that the call is recorded, the offer and one question; then the lead's
questions are answered from the script's figures, each objection once with its answer, and interest
is asked for an executive's call. Every ending records the lead (`record_lead`: interest 1-5, key
points, objections), so a warm lead reaches the ready-for-human queue whichever way the call ends;
"no me vuelvan a llamar", a wrong number, a callback and a person are honoured as in collections.
"""

from __future__ import annotations

import copy
import enum
import itertools
import re
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta

from agent.calling_hours import next_allowed
from agent.flow import spoken_date
from agent.llm import ToolCall
from agent.nlu.intents import Intent, Understanding, understand
from agent.nlu.keys import menu_choice
from agent.nlu.text import normalise
from agent.protocol import AgentOutput
from agent.rule_agent import greeting_for
from agent.sales.cues import LeadReading, LineCues, read_line
from agent.sales.script import SalesScript
from agent.vocabulary import CallResult, ToolName
from media.responder import UNCLEAR_AMOUNT

__all__ = ["SalesAgent", "SalesStep"]

MAX_NOT_UNDERSTOOD = 2  # the third misunderstanding in a row ends the call politely, the lead recorded
MAX_TURNS_BEFORE_CLOSE = 6  # questions answered before the closing question comes anyway
_OPENER_RE = re.compile(r"^(?:si|alo|hola|aja|diga|digame|quien|que|bueno)(?: (?:si|alo|hola))*$")
_ABSENT_RE = re.compile(r"\b(?:no esta|salio|no se encuentra|no vive|esta trabajando|no llega)\b")
_MACHINE_RE = re.compile(r"\b(?:robot|maquina|grabacion|contestadora|bot)\b")


class SalesStep(enum.StrEnum):
    IDENTITY = "identity"
    NOT_THE_LEAD = "not_the_lead"
    OFFER = "offer"  # the offer was made: questions, objections, interest
    CLOSE = "close"  # asked whether an executive may call
    ASK_CALLBACK = "ask_callback"
    DONE = "done"


class SalesAgent:
    def __init__(self, script: SalesScript, *, full_name: str, company: str, clock: Callable[[], datetime],
                 agent_name: str = "Sofía", country: str | None = None,
                 variables: Mapping[str, str] | None = None, called_in: bool = False) -> None:
        self.script = script
        self._called_in = called_in  # the lead dialled back: thanked for it, then asked who they are
        self._clock = clock  # aware, in the lead's zone
        self._country = country
        first = full_name.split()[0] if full_name.strip() else ""
        # The lead's own columns win over the script's offer (a per-person pre-approved amount).
        self._vars = {**script.offer, **dict(variables or {}), "full_name": full_name, "first_name": first,
                      "company": company, "agent_name": agent_name}
        self.step = SalesStep.IDENTITY
        self.lead = LeadReading()
        self._answered_objections: set[str] = set()
        self._turns_in_offer = 0
        self._not_understood = 0
        self._last: list[str] = []
        self._ids = itertools.count(1)
        self._before_reply: dict[str, object] | None = None

    # ---------------------------------------------------------------- the Agent interface
    def greeting(self) -> str:
        self._vars["greeting"] = greeting_for(self._clock())
        return self._remember([self._say("identity_called_in" if self._called_in else "identity")])[0]

    def reprompt(self) -> str:
        return self._say("reprompt")

    def farewell(self) -> str:
        return self._say("no_input_goodbye")

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        self._before_reply = self._snapshot()
        text = " ".join(user_text.replace(UNCLEAR_AMOUNT, " ").split())
        for item in self._decide(understand(text, self._clock()), normalise(text), read_line(text), "?" in text):
            yield item

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """The menu keys mean what the words do: 0 a person, 1 yes, 2 no."""
        self._before_reply = self._snapshot()
        for item in self._decide(menu_choice(entry), "", LineCues(), False):
            yield item

    @property
    def keys_expected(self) -> int:
        return 1

    def correct_last_reply(self, spoken: str) -> None:
        pass  # the script's questions are asked again whole when not answered

    def retract_last_reply(self) -> bool:
        """Back to where the conversation was before the last reply (`media.responder`)."""
        if self._before_reply is None:
            return False
        vars(self).update(self._before_reply)
        self._before_reply = None
        return True

    @property
    def finished(self) -> bool:
        return self.step is SalesStep.DONE

    # ---------------------------------------------------------------- the steps
    def _decide(self, heard: Understanding, text: str, cues: LineCues, question: bool) -> list[AgentOutput]:
        if self.step is SalesStep.DONE:
            return []
        intent = heard.intent
        if intent is Intent.STOP_CALLING:
            self.lead.refused_for_good()
            return self._end([self._record(), self._tool(ToolName.STOP_CALLING)], "stop_calling")
        if intent is Intent.WRONG_NUMBER and self.step in (SalesStep.IDENTITY, SalesStep.NOT_THE_LEAD):
            return self._end([self._tool(ToolName.REPORT_WRONG_NUMBER)], "wrong_number")
        if _MACHINE_RE.search(text) and question and intent is Intent.HUMAN and heard.matched == "human:maquina":
            return self._remember([self._say("virtual_assistant"), self._current_question()])
        # "Que me llame un ejecutivo" is the offer accepted (a person calls back), not a transfer now.
        if intent is Intent.HUMAN and not cues.go_ahead:
            self.lead.add(cues)
            return self._transfer()
        if self.step is SalesStep.IDENTITY:
            return self._identity(heard, text, cues)
        if self.step is SalesStep.NOT_THE_LEAD:
            return self._not_the_lead(heard)
        if self.step is SalesStep.ASK_CALLBACK:
            return self._callback(heard, asked=True)
        if intent is Intent.REPEAT and self._last:
            return self._remember([self._current_question()])
        if intent is Intent.CALLBACK and not cues.go_ahead and (heard.callback_at or "no_time" in cues.objections):
            self.lead.add(cues)
            return self._callback(heard)
        self.lead.add(cues)
        return self._offer(heard, cues) if self.step is SalesStep.OFFER else self._close(heard, cues)

    def _identity(self, heard: Understanding, text: str, cues: LineCues) -> list[AgentOutput]:
        intent = heard.intent
        if intent is Intent.GREETING or (_OPENER_RE.match(text) and intent is not Intent.CONFIRM):
            return self._remember([self._say("who_calls")])
        if intent is Intent.CONFIRM or "soy yo" in text or "con el" in text or "con ella" in text:
            self._not_understood = 0
            self.step = SalesStep.OFFER
            return self._remember([self._say("pitch")])
        if intent is Intent.DENY or _ABSENT_RE.search(text):
            self.step = SalesStep.NOT_THE_LEAD
            if heard.callback_at is not None or _ABSENT_RE.search(text):
                return self._not_the_lead(heard)
            return self._remember([self._say("not_the_lead")])
        if intent is Intent.CALLBACK:
            return self._callback(heard)
        return self._misunderstood("identity_again")

    def _not_the_lead(self, heard: Understanding) -> list[AgentOutput]:
        """Someone else answered: a time they give is booked; the offer is never told to them."""
        if heard.callback_at is not None:
            return self._callback(heard, record=False)
        return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.THIRD_PARTY)], "third_party_goodbye")

    def _offer(self, heard: Understanding, cues: LineCues) -> list[AgentOutput]:
        """After the offer: answer what was asked, meet the objection, and ask for the executive's call."""
        self._turns_in_offer += 1
        if cues.go_ahead:
            return self._handoff()
        said = [self._say(f"answer_{q}") for q in cues.questions[:2]]
        objection = next((o for o in cues.objections if o not in self._answered_objections and o != "no_time"), None)
        if cues.declined and not said:
            if self.lead.declines >= 2 or "no_interest" in self._answered_objections:
                return self._end([self._record()], "no_interest_goodbye")
            self._answered_objections.add("no_interest")
            self.step = SalesStep.CLOSE  # the "no" is met once, with the offer of a simulation
            return self._remember([self._say("decline_once")])
        if objection is not None:
            self._answered_objections.add(objection)
            self.step = SalesStep.CLOSE  # each objection's answer ends in the executive's offer
            return self._remember([*said, self._say(f"objection_{objection}")])
        if said:
            if self.lead.interested or self._turns_in_offer >= MAX_TURNS_BEFORE_CLOSE:
                self.step = SalesStep.CLOSE
                return self._remember([*said, self._say("close_offer")])
            return self._remember([*said, self._say("ask_more")])
        if heard.intent is Intent.CONFIRM or cues.interested:
            # "Sí, cuénteme": the conditions, then whether an executive may call.
            self.step = SalesStep.CLOSE
            return self._remember([self._say("conditions"), self._say("close_offer")])
        if heard.intent is Intent.DENY:  # "no" to "¿alguna otra pregunta?": the closing question
            self.step = SalesStep.CLOSE
            return self._remember([self._say("close_offer")])
        return self._misunderstood("close_offer")

    def _close(self, heard: Understanding, cues: LineCues) -> list[AgentOutput]:
        """The executive's call was offered: yes hands the lead over, a question or objection is answered.
        Objections before yes: "Ya tengo un crédito" starts with a Chilean yes."""
        if cues.go_ahead:
            return self._handoff()
        if cues.questions or any(o not in self._answered_objections for o in cues.objections):
            self.step = SalesStep.OFFER
            return self._offer(heard, cues)
        if (heard.intent is Intent.CONFIRM or cues.interested) and not cues.declined and not cues.objections:
            return self._handoff()
        if cues.declined or cues.objections or heard.intent is Intent.DENY:
            if self.lead.declines >= 2 or "no_interest" in self._answered_objections:
                return self._end([self._record()], "no_interest_goodbye")
            if not cues.declined:
                self.lead.add(LineCues(declined=True))  # a plain "no" to the executive is a no to the offer
            self._answered_objections.add("no_interest")
            return self._remember([self._say("decline_once")])
        return self._misunderstood("close_offer")

    # ---------------------------------------------------------------- endings
    def _handoff(self) -> list[AgentOutput]:
        """A warm lead: recorded (it waits in the ready-for-human queue), thanked, and the call ends."""
        self.lead.accepted()
        return self._end([self._record(), self._say("handoff")], None, goodbye=False)

    def _callback(self, heard: Understanding, *, asked: bool = False, record: bool = True) -> list[AgentOutput]:
        """Book a callback at the time heard; busy without a time is asked when, once."""
        if heard.callback_at is None and not asked:
            self.step = SalesStep.ASK_CALLBACK
            return self._remember([self._say("ask_callback_time")])
        when = next_allowed(heard.callback_at or (self._clock() + timedelta(days=1)), self._country)
        # The lead first, then the callback: the callback, written last, is the call's result (the job waits).
        items: list[AgentOutput] = [self._record()] if record and self.lead.engaged else []
        items.append(self._tool(ToolName.SCHEDULE_CALLBACK, when=when.isoformat(), reason=heard.matched or "lead"))
        items.append(self._say("callback_booked", callback_at=f"{spoken_date(when.date())} a las {when:%H:%M}"))
        return self._end(items, None, goodbye=False)

    def _transfer(self) -> list[AgentOutput]:
        self.step = SalesStep.DONE
        return self._remember([self._say("transfer"), self._record(),
                               self._tool(ToolName.TRANSFER_TO_AGENT, reason="the lead asked for a person")])

    def _end(self, items: list[AgentOutput], prompt: str | None, *, goodbye: bool = True) -> list[AgentOutput]:
        self.step = SalesStep.DONE
        out = list(items)
        if prompt:
            out.append(self._say(prompt))
        elif goodbye:
            out.append(self._say("goodbye"))
        return self._remember(out)

    def _misunderstood(self, prompt: str) -> list[AgentOutput]:
        self._not_understood += 1
        if self._not_understood > MAX_NOT_UNDERSTOOD:
            closing = [self._record()] if self.lead.engaged else [
                self._tool(ToolName.END_CALL, outcome=CallResult.NOT_UNDERSTOOD)]
            return self._end(closing, None)
        return self._remember([self._say("not_understood" if self._not_understood == 1 else prompt)])

    def _record(self) -> ToolCall:
        lead = self.lead
        return self._tool(ToolName.RECORD_LEAD, interest=lead.interest, key_points=lead.key_points,
                          objections=list(lead.objections), wants_contact=lead.go_ahead)

    # ---------------------------------------------------------------- helpers
    def _current_question(self) -> str:
        questions = [line for line in self._last if line.endswith("?")]
        return questions[-1].split(". ")[-1] if questions else self._say("close_offer")

    def _say(self, key: str, **extra: str) -> str:
        return self.script.say(key, {**self._vars, **extra})

    def _tool(self, name: ToolName, **arguments: object) -> ToolCall:
        return ToolCall(f"sales-{next(self._ids)}", name, dict(arguments))

    def _remember(self, items: list[AgentOutput]) -> list[AgentOutput]:
        self._last = [i for i in items if isinstance(i, str)]
        return items

    def _snapshot(self) -> dict[str, object]:
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in ("script", "_clock", "_before_reply")}
