"""DTMF entries: menu keys act at once, digit strings end at '#', at the expected length or a pause;
the agents read them (menu keys as words, a RUT to identify an unknown caller)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.flow import DebtorFacts, load_flow
from agent.identify_agent import IdentificationLocked, IdentifyingAgent, InvalidRut
from agent.llm import ToolCall
from agent.rule_agent import RuleAgent, Step
from countries.cl import normalise_rut
from countries.identity import InvalidIdentity
from media.keypad import KeypadEntry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
FACTS = DebtorFacts("María José Pérez", "Natura", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 10, 5), max_date=date(2026, 12, 31))


def test_an_entry_ends_at_the_terminator_at_the_expected_length_or_after_a_pause():
    pad = KeypadEntry(inter_digit_s=3.0)
    assert pad.press("0", 0.0, expected=1) == "0" and not pad.pending  # a menu key acts at once
    assert [pad.press(k, 1.0 + i, expected=9) for i, k in enumerate("1234567")] == [None] * 7
    assert pad.pending and pad.expire(9.9) is None  # 2.9 s after the last key: still typing
    assert pad.press("#", 10.0, expected=9) == "1234567"
    assert pad.press("#", 11.0, expected=9) is None  # a '#' on its own is habit, not an answer
    for k in "12345678":
        pad.press(k, 12.0, expected=9)
    assert pad.press("K", 12.0, expected=9) is None  # not a DTMF key: ignored
    assert pad.press("5", 12.1, expected=9) == "123456785"  # 9 keys: complete without '#'
    pad.press("7", 20.0, expected=9)
    assert pad.expire(23.0) == "7" and pad.expire(30.0) is None


async def said_and_tools(source) -> tuple[str, list[ToolCall]]:
    said, tools = [], []
    async for item in source:
        (tools if isinstance(item, ToolCall) else said).append(item)
    return " ".join(said), tools


def rule_agent(start: Step = Step.IDENTITY) -> RuleAgent:
    return RuleAgent(load_flow("temprana"), FACTS, clock=lambda: NOW, start=start)


async def test_menu_keys_mean_yes_no_and_a_person():
    a = rule_agent()
    said, _ = await said_and_tools(a.keys("1"))  # "¿Hablo con María?" -> 1: yes
    assert "grabada" in said and "185000" not in said  # the notice, then "¿Tiene un momento?"
    said, _ = await said_and_tools(a.keys("1"))
    assert "185000" in said
    await said_and_tools(a.reply("le pago cien mil el quince de diciembre"))  # at least the flow's least part
    assert a.step is Step.CONFIRM_PROMISE and a.keys_expected == 1
    _, tools = await said_and_tools(a.keys("1"))  # "Diga sí, o marque uno"
    assert [(t.name, t.arguments) for t in tools] == [("register_promise", {"date": "2026-12-15", "amount": 100000})]
    b = rule_agent()
    said, tools = await said_and_tools(b.keys("0"))
    assert [t.name for t in tools] == ["transfer_to_agent"] and "ejecutivo" in said and b.finished
    c = rule_agent()
    said, _ = await said_and_tools(c.keys("2"))
    assert c.step is Step.NOT_THE_DEBTOR and "Conoce" in said


async def test_back_from_an_unanswered_transfer_the_debtor_is_offered_a_callback():
    a = rule_agent(Step.OFFER_CALLBACK)
    assert "no hay ejecutivos" in a.greeting() and "185000" not in a.greeting()
    said, tools = await said_and_tools(a.reply("sí, por favor"))
    assert [t.name for t in tools] == ["schedule_callback"] and "lunes 23 de noviembre a las 12:00" in said
    assert datetime.fromisoformat(tools[0].arguments["when"]) == datetime(2026, 11, 23, 12, 0, tzinfo=NOW.tzinfo)
    b = rule_agent(Step.OFFER_CALLBACK)
    _, tools = await said_and_tools(b.reply("quiero hablar con una persona"))  # nobody is there: a callback
    assert [t.name for t in tools] == ["schedule_callback"]
    c = rule_agent(Step.OFFER_CALLBACK)
    _, tools = await said_and_tools(c.reply("no, gracias"))
    assert [(t.name, t.arguments) for t in tools] == [("end_call", {"outcome": "no_agent_available"})]


class Directory:
    """What the application's lookup does, over a dict: the RUT check digit, then who has it, confirmed by
    the last four digits of their phone on file."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.confirmed: list[str] = []

    async def lookup(self, rut: str, how: str) -> Claimed:
        self.asked.append((rut, how))
        try:
            national_id = normalise_rut(rut)
        except InvalidIdentity as exc:
            raise InvalidRut(str(exc)) from exc
        return Claimed(self, national_id)


@dataclass
class Claimed:
    directory: Directory
    national_id: str

    async def confirm(self, digits: str) -> RuleAgent | None:
        self.directory.confirmed.append(digits)
        return rule_agent() if (self.national_id, digits) == ("12345678-5", "4521") else None


def identifying(directory: Directory) -> IdentifyingAgent:
    return IdentifyingAgent(directory.lookup, clock=lambda: NOW)


async def test_an_unknown_caller_keys_their_rut_and_a_phones_last_digits_and_hears_their_own_debt():
    directory = Directory()
    a = identifying(directory)
    assert "RUT" in a.greeting() and a.keys_expected == 9
    said, _ = await said_and_tools(a.keys("123456784"))  # wrong check digit
    assert "no es válido" in said and a.identified_agent is None
    said, _ = await said_and_tools(a.keys("123456785"))  # a valid RUT: the second factor is asked
    assert "cuatro dígitos" in said and a.keys_expected == 4 and a.identified_agent is None
    said, _ = await said_and_tools(a.keys("4521"))
    assert "grabada" in said and a.identified_agent is not None
    assert a.keys_expected == 1  # from now on the debtor's own menu
    said, _ = await said_and_tools(a.keys("1"))  # "¿Tiene un momento?" -> 1: yes, their own debt
    assert "185000" in said
    _, tools = await said_and_tools(a.keys("0"))
    assert [t.name for t in tools] == ["transfer_to_agent"] and a.finished
    assert directory.asked == [("123456784", "dtmf"), ("123456785", "dtmf")] and directory.confirmed == ["4521"]


async def test_a_rut_nobody_has_and_wrong_digits_sound_the_same_and_nothing_is_said():
    # Whether someone with that RUT is in collections is not told: RUT and digits together match, or not.
    for rut in ("222222222", "123456785"):
        a = identifying(Directory())
        said, _ = await said_and_tools(a.keys(rut))
        assert "cuatro dígitos" in said
        said, tools = await said_and_tools(a.keys("9999"))
        assert said.startswith("Esos datos no coinciden") and not tools and a.keys_expected == 9
        assert "185000" not in said and a.identified_agent is None
    # The digits said aloud, in pairs as phone numbers are read.
    a = identifying(Directory())
    await said_and_tools(a.reply("mi rut es doce millones trescientos cuarenta y cinco mil seiscientos setenta y "
                                 "ocho guion cinco"))
    said, _ = await said_and_tools(a.reply("cuarenta y cinco veintiuno"))
    assert "grabada" in said


async def test_a_number_locked_for_the_day_is_not_asked_again_and_reaches_a_person():
    async def locked(rut: str, how: str) -> Claimed:
        raise IdentificationLocked
    a = IdentifyingAgent(locked, clock=lambda: NOW)
    said, tools = await said_and_tools(a.keys("123456785"))
    assert "no puedo verificar" in said and [t.name for t in tools] == ["transfer_to_agent"] and a.finished


@pytest.mark.parametrize(("source", "expected"), [
    ("keys", ("1234567K", "dtmf")),  # '*' keys the K check digit (not a valid RUT: fine here)
    ("speech", ("1234567-K", "speech")),
])
async def test_a_k_check_digit_keyed_as_star_or_a_rut_said_aloud(source, expected):
    directory = Directory()
    a = identifying(directory)
    if source == "keys":
        await said_and_tools(a.keys("1234567*"))
    else:
        await said_and_tools(a.reply("mi rut es uno dos tres cuatro cinco seis siete guion k"))
    assert directory.asked == [expected]


async def test_a_caller_who_cannot_identify_reaches_a_person():
    a = identifying(Directory())
    for attempt in ("no sé", "mmm"):
        said, tools = await said_and_tools(a.reply(attempt))
        assert not tools and "RUT" in said
    said, tools = await said_and_tools(a.reply("no me acuerdo"))
    assert [t.name for t in tools] == ["transfer_to_agent"] and a.finished
    b = identifying(Directory())
    _, tools = await said_and_tools(b.keys("0"))
    assert [t.name for t in tools] == ["transfer_to_agent"]


def test_an_entrys_span_runs_from_its_first_key_to_the_one_that_ended_it():
    pad = KeypadEntry()
    pad.press("1", 1.0, expected=9)
    pad.press("2", 1.5, expected=9)
    assert pad.press("#", 2.0, expected=9) == "12" and pad.span == (1.0, 2.0)  # the '#' ends it
    pad.press("#", 3.0, expected=9)  # ignored: the last entry keeps its span
    assert pad.span == (1.0, 2.0)
    assert pad.press("5", 4.0, expected=1) == "5" and pad.span == (4.0, 4.0)
    pad.press("7", 5.0, expected=9)
    assert pad.expire(8.0) == "7" and pad.span == (5.0, 5.0)
