"""A sales call's analysis: the lead's interest 1-5, key points and objections, and its place in the queue.

Facts outrank words here too: the lead the agent recorded during the call (`record_lead`, kept in the
`lead_qualified` event) is the lead; a call that ended before the agent recorded one (the lead hung up)
is read from the caller's lines with the agent's own cues (`agent.sales.cues`), so both agree.

Who needs a person, and how soon: a warm lead (interest 4 or 5) waits in the ready-for-human queue,
priority 65 for 4 and 80 for 5 (someone who accepted an executive's call goes first); a lead who asked
for a person waits too (+10). A wrong number, a third party or "stop calling" needs nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.sales.cues import OBJECTION_LABELS, LeadReading, read_line
from agent.vocabulary import CallResult
from analysis.classification import ClassificationScheme
from analysis.inputs import AnalysisInput
from analysis.rules import read_caller_turn
from analysis.schema import CallAnalysis, InterestLevel, NextAction, SalesFindings, overall_sentiment

__all__ = ["SalesAnalyzer"]

R = CallResult
_NOBODY = {R.WRONG_NUMBER: "wrong_number", R.THIRD_PARTY: "third_party"}
_INTEREST_LEVEL = {5: InterestLevel.HIGH, 4: InterestLevel.HIGH, 3: InterestLevel.MEDIUM, 2: InterestLevel.LOW,
                   1: InterestLevel.NONE}
_NEXT_ACTION = {5: NextAction.CLOSE_DEAL, 4: NextAction.SCHEDULE_MEETING, 3: NextAction.SEND_INFO,
                2: NextAction.FOLLOW_UP_CALL, 1: NextAction.NO_INTEREST}
_PRIORITY = {5: 80, 4: 65}
_PRIORITY_ASKED_ONLY = 40  # asked for a person without being a warm lead
_ASKED_FOR_PERSON = 10
_SUMMARY = {5: "Prospecto muy interesado: acepta que lo llame un ejecutivo para completar la solicitud.",
            4: "Prospecto interesado en el préstamo.", 3: "Prospecto indeciso: escuchó la oferta y preguntó.",
            2: "Prospecto con poco interés.", 1: "Prospecto sin interés."}


def _recorded(lead: Mapping[str, Any]) -> SalesFindings | None:
    score = lead.get("interest")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        return None
    return SalesFindings(score, tuple(str(p) for p in lead.get("key_points") or ()),
                         tuple(str(o) for o in lead.get("objections") or ()), "recorded")


def _read(inp: AnalysisInput) -> SalesFindings | None:
    """The lead from the words alone (the call ended before the agent recorded one)."""
    reading = LeadReading()
    for line in inp.caller_lines[1:]:  # the first line answers "¿Hablo con ...?", not the offer
        reading.add(read_line(line.text))
    if not reading.engaged:
        return None
    return SalesFindings(reading.interest, tuple(reading.key_points), tuple(reading.objections))


class SalesAnalyzer:
    """`analyze` is pure and synchronous: run it in an executor, never on the event loop."""

    name = "rules"

    def __init__(self, scheme: ClassificationScheme) -> None:
        self.scheme = scheme

    def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        facts = inp.facts
        turns = [read_caller_turn(line.text, facts.call_at) for line in inp.caller_lines]
        sentiments = tuple(t.sentiment for t in turns)
        asked = facts.result == R.TRANSFER or any(t.asked_for_human for t in turns)
        frustrated = any(t.frustrated for t in turns)
        nobody = facts.result in _NOBODY
        if facts.result == R.STOP_CALLING:
            findings: SalesFindings | None = SalesFindings(1, (), ("no_interest",), "recorded")
        elif nobody:
            findings = None
        else:
            findings = (_recorded(facts.lead) if facts.lead else None) or _read(inp)
        score = findings.interest_score if findings is not None else 0
        needs_human = not nobody and facts.result != R.STOP_CALLING and (score >= 4 or asked)
        priority = 0
        if needs_human:
            priority = min(100, _PRIORITY.get(score, _PRIORITY_ASKED_ONLY) + (_ASKED_FOR_PERSON if asked else 0))
        contact = _NOBODY.get(facts.result or "", "debtor_reached" if turns else "no_conversation")
        return CallAnalysis(
            summary=self._summary(findings, facts.result, asked),
            sentiment=overall_sentiment(sentiments), turn_sentiments=sentiments,
            interest_level=_INTEREST_LEVEL.get(score, InterestLevel.NONE),
            next_action=(NextAction.SCHEDULE_MEETING if asked and score < 4
                         else _NEXT_ACTION.get(score, NextAction.FOLLOW_UP_CALL)),
            promise=None, needs_human=needs_human, priority=priority, asked_for_human=asked, frustrated=frustrated,
            classification=self.scheme.reduce({
                "contact_result": contact, "urgency": "high" if score >= 5 or frustrated else "normal",
                "call_issue": "complaint" if frustrated else "none", "language": "es"}),
            analyzer=self.name, sales=findings)

    @staticmethod
    def _summary(findings: SalesFindings | None, result: str | None, asked: bool) -> str:
        if result == R.WRONG_NUMBER:
            return "Contestó otra persona: número equivocado."
        if result == R.THIRD_PARTY:
            return "Contestó un tercero; el prospecto no estaba."
        if result == R.STOP_CALLING:
            return "El prospecto pidió que no lo vuelvan a llamar."
        if findings is None:
            return "La llamada se contestó pero no se llegó a presentar la oferta."
        text = _SUMMARY[findings.interest_score]
        if findings.objections:
            text += " Objeciones: " + ", ".join(OBJECTION_LABELS.get(o, o) for o in findings.objections) + "."
        if asked:
            text += " Pidió hablar con una persona."
        if result == R.CALLBACK:
            text += " Pidió que lo llamen en otro momento."
        return text[:600]
