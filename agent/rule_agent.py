"""The built-in collections agent: a small state machine over the flow's prompts and `agent.nlu`.

It runs when no LLM is configured, and answers any turn the LLM fails. Its order is the law's
and the user's: identity first (no debt detail to whoever picks up: "¿quién habla?" is answered
with the agent's name and whom it calls for, a relative or colleague is asked when the debtor can
be reached), then the legal notice and the debt, then the negotiation (`agent.deal_steps`, within
the flow's limits, `agent.negotiation`), which ends in one of the tools: a promise or plan
(confirmed back to the debtor before it is registered), a callback, a transfer, a payment link,
or a closing result. Questions about the debt are answered from the record; confusion and
frustration get shorter words, and after the second sign a person is offered, as repeated
misunderstanding steers to one.
"""

from __future__ import annotations

import copy
import enum
import itertools
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from agent.calling_hours import next_allowed
from agent.deal_steps import DealSteps
from agent.flow import DebtorFacts, Flow, spoken_date
from agent.llm import ToolCall
from agent.negotiation import Negotiator
from agent.nlu.dates import prepare, when_in
from agent.nlu.intents import Intent, Understanding, understand
from agent.nlu.keys import menu_choice
from agent.nlu.text import normalise
from agent.opening import Opening
from agent.protocol import AgentOutput
from agent.vocabulary import CallResult, ToolName
from media.responder import UNCLEAR_AMOUNT

MAX_NOT_UNDERSTOOD = 2  # the third misunderstanding in a row goes to a human
FRUSTRATION_SIGNS_BEFORE_PERSON = 2  # the second sign of frustration: a person is offered
# Tools that record the call's result: a closing end_call would overwrite it.
RESULT_TOOLS = frozenset({ToolName.REGISTER_PROMISE, ToolName.SCHEDULE_CALLBACK, ToolName.REPORT_WRONG_NUMBER,
                          ToolName.STOP_CALLING, ToolName.TRANSFER_TO_AGENT, ToolName.END_CALL})

# Someone who knows the debtor answered for them: a relative, a colleague, "no está".
_THIRD_PARTY_RE = re.compile(
    r"\b(?:es|soy|somos) (?:mi|su|el|la) (?:\w+ )?(?:hij[oa]|espos[oa]|mama|papa|madre|padre|herman[oa]|marido"
    r"|mujer|pareja|polol[oa]|novi[oa]|sobrin[oa]|abuel[oa]|niet[oa]|cunad[oa]|suegr[oa]|prim[oa]|ti[oa]"
    r"|vieja|viejo|companer[oa]|jef[ea]|secretaria|vecin[oa])\b"
    r"|\b(?:mi|su) (?:hij[oa]|espos[oa]|mama|papa|madre|padre|herman[oa]|marido|mujer|vieja|viejo|companer[oa])\b"
    r"|\bcompaner[oa]\b|\btrabajo con (?:el|ella)\b"
    r"|\b(?:no esta|salio|no se encuentra|anda de|anda en|esta en (?:el|la|clase)|esta trabajando)\b"
    r"|\b(?:el|ella) (?:esta|anda) \w+(?:ando|iendo)\b"
    r"|\b(?:habla|hablas|esta hablando) con (?:la|el|su) \w+\b(?<!\bella)(?<!\bel)")
# The part of _THIRD_PARTY_RE that names a tie, not an absence: it outweighs "no vive aquí".
_RELATIVE_TIE_RE = re.compile(
    r"\b(?:es|son) (?:mi|su) (?:hij[oa]|espos[oa]|mama|papa|madre|padre|herman[oa]|marido|mujer|pareja"
    r"|polol[oa]|novi[oa]|sobrin[oa]|abuel[oa]|niet[oa]|cunad[oa]|suegr[oa]|prim[oa]|ti[oa]|companer[oa]"
    r"|jef[ea]|vecin[oa])\b|\b(?:soy|somos) (?:su|el|la) (?:\w+ )?(?:hij[oa]|espos[oa]|madre|padre"
    r"|herman[oa]|prim[oa]|ti[oa]|sobrin[oa]|companer[oa]|vecin[oa])\b")
# "No sé cuándo lo pueda encontrar": nothing more to ask a relative.
_DONT_KNOW_WHEN_RE = re.compile(r"\bno (?:se|sabria decirle|tengo idea) (?:\w+ )?(?:cuando|a que hora)\b")
_OPENER_RE = re.compile(r"^(?:si|alo|hola|aja|diga|digame|quien|que|bueno)(?: (?:si|alo|hola))*$")
_MACHINE_RE = re.compile(r"\b(?:robot|maquina|grabacion|contestadora|bot)\b")
_FRUSTRATION_RE = re.compile(
    r"\bya (?:le|te|les) dije\b|\bque lata\b|\bque latero\b|\bno entiendo\b|\bno le entiendo\b"
    r"|\b(?:weon|hueon|huevon|boludo|pelotudo|mierda|carajo|hijueputa|gonorrea|conchetumare|ctm|csm)\b"
    r"|\bque fastidio\b|\bme tienen (?:harto|chato|podrid)\w*")


class Step(enum.StrEnum):
    IDENTITY = "identity"
    OFFER_CALLBACK = "offer_callback"  # back from a transfer no person answered
    NOT_THE_DEBTOR = "not_the_debtor"
    THIRD_PARTY = "third_party"  # someone who knows the debtor: when can they be reached?
    BRIEFING = "briefing"  # the notice and the debt, a piece a turn (agent/opening.py)
    ASK_CALLBACK = "ask_callback"  # no moment to talk now: when, then?
    REMINDER = "reminder"  # a broken promise was recalled: was it paid?
    NEGOTIATE = "negotiate"
    CONFIRM_PROMISE = "confirm_promise"
    OFFER_PERSON = "offer_person"  # frustration: a person was offered
    DONE = "done"


def greeting_for(moment: datetime) -> str:
    """Buenos días until noon, buenas tardes until 20:00, then buenas noches (the call's clock)."""
    return "buenos días" if moment.hour < 12 else "buenas tardes" if moment.hour < 20 else "buenas noches"


class RuleAgent(Opening, DealSteps):
    negotiate_step = Step.NEGOTIATE
    confirm_step = Step.CONFIRM_PROMISE
    brief_step = Step.BRIEFING
    ask_callback_step = Step.ASK_CALLBACK
    reminder_step = Step.REMINDER

    def __init__(self, flow: Flow, facts: DebtorFacts, *, clock: Callable[[], datetime],
                 agent_name: str = "Sofía", start: Step = Step.IDENTITY, country: str | None = None,
                 called_in: bool = False) -> None:
        self.flow = flow
        self._called_in = called_in  # the debtor dialled in: the opening thanks them instead of asking cold
        self.facts = facts
        self._clock = clock  # aware, in the debtor's zone
        self._country = country or facts.country  # for the calling hours a callback is moved into
        self._vars = {**facts.variables(), "agent_name": agent_name}
        self.step = start
        self._last: list[str] = []
        self._not_understood = 0
        self._frustration = 0
        self._debt_told = False
        self._pieces: list[tuple[str, str]] = []  # the briefing still to say
        self._pieces_said = 0
        self._heard_question = False
        self._notice_in_last: list[str] = []  # the notice's sentences in the last reply
        self._unheard: list[str] = []  # the notice's sentences a barge-in cut: said before the debt
        self._read_back_unheard = False  # the last reply's read-back came after such a cut
        self._explained_to_third_party = False
        self._busy = False  # asked when to call back because the debtor is busy: no time is still a callback
        self._link_sent = False  # the payment link went out on this call: asked again, it is not sent twice
        self._ids = itertools.count(1)
        self.negotiator = Negotiator(flow.negotiation, facts.amount_owed, facts.max_date, clock().date())
        self._reset_deal()

    # ---------------------------------------------------------------- the Agent interface
    def greeting(self) -> str:
        self._vars["greeting"] = greeting_for(self._clock())
        first = "identity_called_in" if self._called_in else "identity"
        return self._remember([self._say("no_agent" if self.step is Step.OFFER_CALLBACK else first)])[0]

    def identified(self) -> list[str]:
        """The caller keyed or said their RUT (an inbound call): the identity question is answered."""
        return self._with_notice(self._start_briefing())  # type: ignore[return-value]

    def reprompt(self) -> str:
        self._notice_in_last = []  # the reply a barge-in may cut now is this one: no notice in it
        return self._say("reprompt")

    def farewell(self) -> str:
        return self._say("no_input_goodbye")

    async def reply(self, user_text: str) -> AsyncIterator[AgentOutput]:
        # An amount the recogniser could not be trusted on (`media.stt.numbers`) is not an amount: the rest
        # of the sentence is understood without it, and where the amount is the point it is asked again.
        self._before_reply = self._snapshot()
        unclear = UNCLEAR_AMOUNT in user_text
        user_text = " ".join(user_text.replace(UNCLEAR_AMOUNT, " ").split())
        heard = understand(user_text, self._clock())
        if unclear and self.step in (Step.NEGOTIATE, Step.CONFIRM_PROMISE) and heard.intent not in (
                Intent.STOP_CALLING, Intent.WRONG_NUMBER, Intent.HUMAN):
            planned = self._amount_unclear()
        else:
            planned = self._decide(heard, normalise(user_text), "?" in user_text)
        async for item in self._carried_out(self._with_notice(planned)):
            yield item

    async def keys(self, entry: str) -> AsyncIterator[AgentOutput]:
        """The menu keys mean what the words do: 0 a person, 1 yes, 2 no."""
        self._before_reply = self._snapshot()
        async for item in self._carried_out(self._with_notice(self._decide(menu_choice(entry), "", False))):
            yield item

    async def _carried_out(self, items: list[AgentOutput]) -> AsyncIterator[AgentOutput]:
        """The planned reply, item by item; each tool is carried out when yielded (`media.responder`), so
        its result is known here. What was planned after a tool the record refused is not said: the
        step's answer to the refusal is (`_refused`: a promise is explained and negotiated again)."""
        for item in items:
            yield item
            if isinstance(item, ToolCall) and (refusal := item.refusal()) is not None:
                answer = self._refused(item, refusal)
                if answer is not None:
                    async for more in self._carried_out(answer):
                        yield more
                    return

    @property
    def keys_expected(self) -> int:
        return 1

    # ---------------------------------------------------------------- the steps
    def _decide(self, heard: Understanding, text: str, question: bool) -> list[AgentOutput]:
        if self.step is Step.DONE:
            return []
        self._heard_question = question
        intent = heard.intent
        # Wherever the conversation is, these are honoured at once.
        if intent is Intent.STOP_CALLING:
            return self._end([self._tool(ToolName.STOP_CALLING)], "stop_calling")
        if intent is Intent.WRONG_NUMBER and self._knows_the_debtor(text):
            intent = Intent.DENY  # "no vive aquí, pero es mi primo": not the debtor, but someone who knows them
        elif intent is Intent.WRONG_NUMBER:
            return self._end([self._tool(ToolName.REPORT_WRONG_NUMBER)], "wrong_number")
        if self.step is Step.OFFER_CALLBACK:  # before HUMAN: no person is there to take them now
            return self._offer_callback(heard)
        if intent is Intent.HUMAN and heard.matched == "human:maquina" and _MACHINE_RE.search(text) and question:
            # "¿Es un robot?": the truth. ("¿Es un robot? Quiero hablar con una persona" is a transfer.)
            told = self._say("virtual_assistant_company" if self._debt_told else "virtual_assistant")
            return self._remember([told, self._current_question()])
        if intent is Intent.HUMAN:
            return self._transfer("the debtor asked for a person")
        if self.step is Step.THIRD_PARTY:
            return self._third_party(heard, text)
        if intent is Intent.REPEAT and self._last:
            if "entiend" in text and (person := self._frustrated()):
                return person
            if "entiend" in text and self.step is Step.NEGOTIATE and self.facts.amount_owed is not None:
                # Confused by the notice and the debt: the one thing that matters, in plain words.
                return self._remember([self._say("debt_plain"), self._say("ask_date_short")])
            return self._remember([self._current_question()])  # again, shorter: the question alone
        if _FRUSTRATION_RE.search(text) and (person := self._frustrated()):
            return person
        if self.step is Step.OFFER_PERSON:
            if intent is Intent.CONFIRM:
                return self._transfer("the debtor, frustrated, accepted a person")
            self.step = Step.NEGOTIATE
        handler = {Step.IDENTITY: self._identity, Step.NOT_THE_DEBTOR: self._not_the_debtor,
                   Step.BRIEFING: self._brief, Step.ASK_CALLBACK: self._ask_callback, Step.REMINDER: self._reminded,
                   Step.NEGOTIATE: self._negotiate, Step.CONFIRM_PROMISE: self._confirm}[self.step]
        return handler(heard, text)

    def _knows_the_debtor(self, text: str) -> bool:
        """Before the debt was said, whoever answered names a tie to the debtor (a relative, a colleague)."""
        return self.step in (Step.IDENTITY, Step.NOT_THE_DEBTOR) and _RELATIVE_TIE_RE.search(text) is not None

    def _frustrated(self) -> list[AgentOutput]:
        """One more sign of frustration; from the second, a person is offered (empty: not yet)."""
        self._frustration += 1
        if self._frustration < FRUSTRATION_SIGNS_BEFORE_PERSON or self.step not in (Step.NEGOTIATE,
                                                                                    Step.CONFIRM_PROMISE):
            return []
        self.step = Step.OFFER_PERSON
        return self._remember([self._say("offer_person")])

    def _current_question(self) -> str:
        if self.step is Step.CONFIRM_PROMISE and self._last:
            return self._last[-1]  # the read-back, whole: its figures are what is asked
        questions = [line for line in self._last if line.endswith("?")]
        if self.step is Step.IDENTITY or not questions:
            return self._say("identity") if self.step is Step.IDENTITY else self._question()
        return questions[-1].split(". ")[-1]

    def _identity(self, heard: Understanding, text: str) -> list[AgentOutput]:
        intent = heard.intent
        if intent is not Intent.CONFIRM and _THIRD_PARTY_RE.search(text) and "soy yo" not in text:
            told_when = heard.callback_at or _DONT_KNOW_WHEN_RE.search(text)
            return self._third_party(heard, text) if told_when else self._ask_third_party()
        # "¿Sí?" asks who calls; "sí" and "sí, dígame" answer the question.
        if intent is Intent.GREETING and heard.matched == "greeting:alo" and text.startswith("si ") \
                and not self._heard_question:
            intent = Intent.CONFIRM
        opener = bool(_OPENER_RE.match(text)) and (intent is not Intent.CONFIRM or self._heard_question)
        if intent is Intent.GREETING or (opener and intent in (Intent.CONFIRM, Intent.UNKNOWN, Intent.REPEAT)):
            return self._remember([self._say("who_calls")])
        if intent is Intent.CONFIRM or (intent is Intent.PROMISE_TO_PAY and heard.confidence >= 0.5):
            self._not_understood = 0
            if heard.promise_date or heard.amount:
                # "Sí, soy yo; le pago cincuenta mil el quince": the notice and the debt come first (the
                # law), then the offer the debtor already made is read back, not asked for again.
                self._pieces = self._briefing_pieces()
                return self._through_debt() + self._collect_promise(heard, text)
            return self._start_briefing()
        if intent is Intent.DENY:
            self.step = Step.NOT_THE_DEBTOR
            return self._remember([self._say("not_the_debtor")])
        if intent is Intent.CALLBACK:
            return self._callback(heard)
        return self._misunderstood("identity_again")

    def _offer_callback(self, heard: Understanding) -> list[AgentOutput]:
        """No person answered the transfer: a person calls back (asking for one again is a yes)."""
        if heard.intent in (Intent.CONFIRM, Intent.HUMAN, Intent.CALLBACK):
            return self._callback(heard, default_after=timedelta(hours=2), reason="no agent answered the transfer")
        if heard.intent is Intent.DENY:
            return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.NO_AGENT_AVAILABLE)], None)
        return self._misunderstood("no_agent", give_up=True)

    def _not_the_debtor(self, heard: Understanding, text: str) -> list[AgentOutput]:
        if heard.intent is Intent.DENY and not _THIRD_PARTY_RE.search(text):
            return self._end([self._tool(ToolName.REPORT_WRONG_NUMBER)], "wrong_number")
        if heard.intent is Intent.CALLBACK or heard.callback_at:
            return self._third_party(heard, text)
        if heard.intent in (Intent.CONFIRM, Intent.DENY):  # they know the debtor: when can they be reached?
            return self._ask_third_party()
        return self._misunderstood("not_the_debtor")

    def _ask_third_party(self) -> list[AgentOutput]:
        self.step = Step.THIRD_PARTY
        return self._remember([self._say("third_party_ask")])

    def _third_party(self, heard: Understanding, text: str) -> list[AgentOutput]:
        """Whoever answered knows the debtor: a time they give is booked, and the debt is never said."""
        now = self._clock()
        when = heard.callback_at or when_in(prepare(text), now)
        closing = self._tool(ToolName.END_CALL, outcome=CallResult.THIRD_PARTY)
        if when is None and self._heard_question and not self._explained_to_third_party:
            self._explained_to_third_party = True  # "¿para qué la necesita?": personal, and when?
            return self._remember([self._say("third_party_private")])
        if when is None:
            return self._end([closing], "third_party_goodbye")
        when = next_allowed(when, self._country)
        # end_call first: the callback, written last, is the call's result, so the job waits for it.
        booked = self._tool(ToolName.SCHEDULE_CALLBACK, when=when.isoformat(), reason="third party: " + (
            heard.matched or "when the debtor is in"))
        said = self._say("third_party_booked", callback_at=f"{spoken_date(when.date())} a las {when:%H:%M}")
        return self._end([closing, booked, said], None, goodbye=False)

    # ---------------------------------------------------------------- endings
    def _callback(self, heard: Understanding, default_after: timedelta = timedelta(days=1),
                  reason: str = "") -> list[AgentOutput]:
        """Book a callback at the time heard. Busy without a time ("Estoy en el trabajo") is asked when,
        once, as a person would, instead of booking a time the debtor never said; the time often follows
        a breath later ("..., llámeme el viernes a las cuatro"), and a question, unlike a booking, can be
        taken back when the rest of the sentence arrives (`retract_last_reply`)."""
        if heard.callback_at is None and not reason and self.step is not Step.ASK_CALLBACK:
            self.step = Step.ASK_CALLBACK
            self._busy = True
            return self._remember([self._say("ask_callback_time")])
        when = next_allowed(heard.callback_at or (self._clock() + default_after), self._country)
        booked = self._tool(ToolName.SCHEDULE_CALLBACK, when=when.isoformat(), reason=reason or heard.matched or "")
        said = self._say("callback_booked", callback_at=f"{spoken_date(when.date())} a las {when:%H:%M}")
        return self._end([booked, said], None)

    def _transfer(self, reason: str, prompt: str = "transfer") -> list[AgentOutput]:
        self.step = Step.DONE
        return self._remember([self._say(prompt), self._tool(ToolName.TRANSFER_TO_AGENT, reason=reason)])

    def _end(self, items: list[AgentOutput], prompt: str | None, *, goodbye: bool = True) -> list[AgentOutput]:
        """Finish: the tool(s), then a closing line. The call ends once it has been said (`finished`)."""
        self.step = Step.DONE
        out = list(items)
        if prompt:
            out.append(self._say(prompt))
        elif goodbye:
            out.append(self._say("goodbye"))
        if not any(isinstance(i, ToolCall) and i.name in RESULT_TOOLS for i in out):
            out.append(self._tool(ToolName.END_CALL, outcome=CallResult.COMPLETED))
        return self._remember(out)

    @property
    def finished(self) -> bool:
        """The conversation is over (the conversation loop hangs up after the last words)."""
        return self.step is Step.DONE

    def _misunderstood(self, prompt: str, *, give_up: bool = False) -> list[AgentOutput]:
        """Ask again; the third time a person takes over (or, when none can, the call ends politely)."""
        self._not_understood += 1
        if self._not_understood > MAX_NOT_UNDERSTOOD:
            if give_up:
                return self._end([self._tool(ToolName.END_CALL, outcome=CallResult.NOT_UNDERSTOOD)], None)
            return self._transfer("the agent did not understand the debtor three times")
        return self._remember([self._say("not_understood" if self._not_understood == 1 else prompt)])

    def _snapshot(self) -> dict[str, object]:
        """Everything a reply may change, copied (the flow and the facts are read-only)."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items()
                if k not in ("flow", "facts", "_clock", "_before_reply")}

    def retract_last_reply(self) -> bool:
        """Back to where the conversation was before the last reply (`media.responder`)."""
        before = getattr(self, "_before_reply", None)
        if before is None:
            return False
        vars(self).update(before)
        self._before_reply = None
        return True

    def _amount_unclear(self) -> list[AgentOutput]:
        """The amount said was not made out: asked again; the third time in a row a person takes over."""
        self._not_understood += 1
        if self._not_understood > MAX_NOT_UNDERSTOOD:
            return self._transfer("the amount could not be made out three times")
        return self._remember([self._say("amount_again")])

    # ---------------------------------------------------------------- helpers
    def _say(self, key: str, **extra: str) -> str:
        return self.flow.say(key, {**self._vars, **extra})

    def _tool(self, name: ToolName, **arguments: object) -> ToolCall:
        return ToolCall(f"rule-{next(self._ids)}", name, dict(arguments))

    def _remember(self, items: list[AgentOutput]) -> list[AgentOutput]:
        self._last = [i for i in items if isinstance(i, str)]
        return items
