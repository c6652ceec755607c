"""The opening in short turns (agent/opening.py): the notice and the debt a piece at a time, each
piece short enough to say in about ten seconds and ending in a question, the debt only after a
go-ahead, and each flow's own substance (docs/dialogue-spec.md, "The opening")."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.flow import BrokenPromise, DebtorFacts, Flow, FlowError, load_flow
from agent.llm import ToolCall
from agent.rule_agent import RuleAgent, Step
from agent.simulate import Dialog

SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SANTIAGO)  # a Monday
# A long company name and the longest dates, so the pieces are measured at their longest.
FACTS = DebtorFacts("María José Pérez", "Tarjeta Cencosud", amount_owed=185000, installments_owed=3,
                    due_date=date(2026, 9, 30), max_date=date(2026, 12, 31))
FLOWS = ("temprana", "tardia", "prejudicial")
# espeak-ng at the configured 165 words a minute says about 13.5 characters a second (measured with
# media.tts.EspeakTts: 9-10 s for these pieces with a six-digit amount, 15-22 s for the old monologue).
MAX_PIECE_CHARS = 140
MAX_SPOKEN_CHARS = 150  # the same piece with its figures in words, as the voice says them

def _words(text: str) -> list[str]:
    return text.split()


_UNITS = _words("cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
          "diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco "
          "veintiséis veintisiete veintiocho veintinueve")
_TENS = _words("_ _ _ treinta cuarenta cincuenta sesenta setenta ochenta noventa")
_HUNDREDS = _words("_ ciento doscientos trescientos cuatrocientos quinientos seiscientos setecientos ochocientos "
                   "novecientos")


def in_words(n: int) -> str:
    """A number as Spanish speech (enough for pesos and days)."""
    if n >= 1_000_000:
        head = "un millón" if n // 1_000_000 == 1 else f"{in_words(n // 1_000_000)} millones"
        return head + (f" {in_words(n % 1_000_000)}" if n % 1_000_000 else "")
    if n >= 1000:
        head = "mil" if n // 1000 == 1 else f"{in_words(n // 1000)} mil"
        return head + (f" {in_words(n % 1000)}" if n % 1000 else "")
    if n >= 100:
        return "cien" if n == 100 else _HUNDREDS[n // 100] + (f" {in_words(n % 100)}" if n % 100 else "")
    if n >= 30:
        return _TENS[n // 10] + (f" y {_UNITS[n % 10]}" if n % 10 else "")
    return _UNITS[n]


def spoken(text: str) -> str:
    return re.sub(r"\d+", lambda m: in_words(int(m[0])), text)


def agent(flow: str, facts: DebtorFacts = FACTS) -> RuleAgent:
    a = RuleAgent(load_flow(flow), facts, clock=lambda: NOW, country="CL")
    a.greeting()
    return a


async def turn(a: RuleAgent, text: str) -> tuple[str, list[ToolCall]]:
    said, tools = [], []
    async for item in a.reply(text):
        (tools if isinstance(item, ToolCall) else said).append(item)
    return " ".join(said), tools


async def opening(flow: str, facts: DebtorFacts = FACTS) -> list[str]:
    """Every turn from the identity confirmed to the first offer, with a plain yes to each question."""
    a = agent(flow, facts)
    said, _ = await turn(a, "Sí, soy yo")
    turns = [said]
    while a.step is Step.BRIEFING:
        said, _ = await turn(a, "Sí")
        turns.append(said)
    assert a.step is Step.NEGOTIATE
    return turns


@pytest.mark.parametrize("flow", FLOWS)
async def test_each_piece_is_short_and_hands_the_turn_over_with_a_question(flow):
    turns = await opening(flow)
    assert len(turns) >= 2
    for piece in turns:
        assert piece.endswith("?"), piece
        assert len(piece) <= MAX_PIECE_CHARS, (len(piece), piece)
        assert len(spoken(piece)) <= MAX_SPOKEN_CHARS, (len(spoken(piece)), spoken(piece))
    assert turns[-1].endswith("¿Qué día podría realizar el pago?")  # the last asks the first offer


@pytest.mark.parametrize("flow", FLOWS)
async def test_the_notice_comes_first_and_the_debt_only_after_the_go_ahead(flow):
    turns = await opening(flow)
    notice = turns[0]
    assert "Tarjeta Cencosud" in notice and "grabada" in notice and "asistente virtual" in notice
    assert "185000" not in notice and "cuota" not in notice  # the purpose, not the debt's facts
    assert "185000" in turns[1]


async def test_the_flows_differ_in_tone_first_offer_and_notice():
    temprana, tardia, prejudicial = [await opening(flow) for flow in FLOWS]
    assert len({temprana[0], tardia[0], prejudicial[0]}) == 3  # each flow its own notice
    assert "pago pendiente" in temprana[0] and "deuda atrasada" in tardia[0] and "aviso formal" in prejudicial[0]
    # temprana: a reminder, and the whole balance asked for at once (no consequence, no discount).
    assert len(temprana) == 2 and "cobranza" not in " ".join(temprana)
    # tardía: firm, the consequence said before the first offer.
    assert "cobranza prejudicial" in tardia[-1] and "descuento" not in " ".join(tardia)
    # prejudicial: formal, the court named, and the first offer is the whole balance less 10 %.
    assert "cobranza judicial" in prejudicial[1] and "166500" in prejudicial[-1]


async def test_a_no_to_the_moment_asks_when_to_call_back_and_books_it():
    a = agent("temprana")
    await turn(a, "Sí, soy yo")
    said, tools = await turn(a, "No")
    assert "llamar" in said and not tools and "185000" not in said
    said, tools = await turn(a, "Mañana a las diez")
    assert [t.name for t in tools] == ["schedule_callback"]
    assert datetime.fromisoformat(tools[0].arguments["when"]) == datetime(2026, 11, 24, 10, tzinfo=SANTIAGO)


async def test_a_debtor_who_answers_the_debt_before_hearing_it_hears_it_then_the_read_back():
    a = agent("tardia")
    await turn(a, "Sí, soy yo")
    said, tools = await turn(a, "Ya, ok, pago todo el viernes")
    assert not tools
    assert said.index("185000") < said.index("Entonces registro")  # the debt first, then the read-back
    assert "viernes 27 de noviembre" in said and "¿Estaba al tanto?" not in said  # its question answered
    _, tools = await turn(a, "Sí")
    assert [(t.name, t.arguments) for t in tools] == [("register_promise", {"date": "2026-11-27", "amount": 185000})]


async def test_not_this_piece_but_the_debt_itself_a_cannot_pay_gets_the_next_offer():
    a = agent("tardia")
    await turn(a, "Sí, soy yo")
    said, _ = await turn(a, "No, todo no puedo")  # not "no time": about the debt
    assert "185000" in said and "cuotas de" in said  # tardía's next offer: instalments


def test_a_flows_briefing_must_name_its_prompts_and_keep_the_debt_out_of_the_first_turn():
    base = 'name = "x"\n[prompts]\n' + "\n".join(f'{k} = "{v}"' for k, v in load_flow("temprana").prompts.items()
                                                   if "\n" not in v and '"' not in v)
    assert Flow.from_toml(base).briefing == ("notice", "debt")
    with pytest.raises(FlowError):
        Flow.from_toml('briefing = ["debt", "notice"]\n' + base)
    with pytest.raises(FlowError):
        Flow.from_toml('briefing = ["notice", "nope", "debt"]\n' + base)


REMINDED = DebtorFacts("María José Pérez", "Tarjeta Cencosud", amount_owed=185000, installments_owed=3,
                       due_date=date(2026, 9, 30), max_date=date(2026, 12, 31), country="CL",
                       broken_promise=BrokenPromise(date(2026, 11, 18), 185000))


@pytest.mark.parametrize("flow", FLOWS)
async def test_a_reminder_opens_with_the_notice_then_the_promise_and_asks_if_it_was_paid(flow):
    a = agent(flow, REMINDED)
    notice, _ = await turn(a, "Sí, soy yo")
    assert "grabada" in notice and "185000" not in notice and "18 de noviembre" not in notice
    reminder, _ = await turn(a, "Sí")
    assert "185000" in reminder and "miércoles 18 de noviembre" in reminder and reminder.endswith("?")
    assert len(reminder) <= MAX_PIECE_CHARS and len(spoken(reminder)) <= MAX_SPOKEN_CHARS
    assert a.step is Step.REMINDER


async def test_the_reminder_differs_by_flow():
    said = set()
    for flow in FLOWS:
        a = agent(flow, REMINDED)
        await turn(a, "Sí, soy yo")
        said.add((await turn(a, "Sí"))[0])
    assert len(said) == 3


@pytest.mark.parametrize(("answer", "tools"), [
    ("Sí, ya lo pagué", [("end_call", {"outcome": "already_paid"})]),
    ("Sí", [("end_call", {"outcome": "already_paid"})]),
])
async def test_paid_is_already_paid(answer, tools):
    a = agent("temprana", REMINDED)
    await turn(a, "Sí, soy yo")
    await turn(a, "Sí")
    _, got = await turn(a, answer)
    assert [(t.name, t.arguments) for t in got] == tools and a.finished


async def test_not_paid_gives_the_balance_and_a_new_date_is_a_new_promise():
    a = agent("tardia", REMINDED)
    await turn(a, "Sí, soy yo")
    await turn(a, "Sí")
    said, _ = await turn(a, "No, no pude")
    assert "185000" in said and said.endswith("?")
    said, _ = await turn(a, "el viernes")
    assert "viernes 27 de noviembre" in said
    _, tools = await turn(a, "sí")
    assert [(t.name, t.arguments) for t in tools] == [("register_promise", {"date": "2026-11-27", "amount": 185000})]


async def test_the_country_in_the_facts_moves_a_callback_into_that_countrys_hours():
    bogota = NOW.astimezone(ZoneInfo("America/Bogota"))
    colombian = DebtorFacts("Andrés Ramírez", "Claro", amount_owed=300000, country="CO")
    a = RuleAgent(load_flow("temprana"), colombian, clock=lambda: bogota)  # no country argument: the facts'
    a.greeting()
    _, tools = await turn(a, "Ahora no puedo, llámeme el sábado a las cuatro")  # CO: Saturdays until 15:00
    # Monday at 07:00, Colombia's opening hour (Chile's would be 08:00).
    assert datetime.fromisoformat(tools[0].arguments["when"]) == datetime(2026, 11, 30, 7, tzinfo=bogota.tzinfo)


def test_the_simulator_reads_a_reminders_purpose_and_promise():
    dialog = {"now": "2026-11-23T10:00:00-03:00", "facts": {"full_name": "Ana Soto", "company": "Natura",
                                                          "amount_owed": 1000, "country": "AR"},
              "debtor_turns": [], "purpose": "promise_reminder", "promise": {"date": "2026-11-20", "amount": 500}}
    parsed = Dialog.from_json(dialog)
    assert parsed.facts.broken_promise == BrokenPromise(date(2026, 11, 20), 500)
    assert parsed.facts.purpose == "promise_reminder" and parsed.facts.country == "AR"
    assert Dialog.from_json({**dialog, "purpose": "collection"}).facts.broken_promise is None
    with pytest.raises(ValueError, match="promise"):
        Dialog.from_json({k: v for k, v in dialog.items() if k != "promise"})
    with pytest.raises(ValueError, match="purpose"):
        Dialog.from_json({**dialog, "purpose": "sales"})


def test_the_llm_is_told_the_short_turns_and_a_reminders_purpose():
    from agent.prompts import system_prompt
    flow = load_flow("temprana")
    plain = system_prompt(flow, FACTS, now=NOW, country="CL")
    reminder = system_prompt(flow, REMINDED, now=NOW, country="CL")
    assert "turnos cortos" in plain and "recordatorio" not in plain
    assert "recordatorio" in reminder and "185000 pesos el miércoles 18 de noviembre" in reminder


def test_the_llm_is_told_a_cut_notice_is_said_before_the_debt():
    from agent.prompts import INBOUND_PROMPT, system_prompt
    for prompt in (system_prompt(load_flow("temprana"), FACTS, now=NOW, country="CL"), INBOUND_PROMPT):
        rule = prompt[prompt.index("termina en \"…\""):]  # the history keeps what was heard
        assert rule.index("grabada") < rule.index("antes de dar la deuda")


async def test_alo_repeats_the_piece_whole_and_the_keys_answer_the_moment():
    a = agent("temprana")
    notice, _ = await turn(a, "Sí, soy yo")
    again, _ = await turn(a, "¿Aló?")
    assert again == notice
    b = agent("temprana")
    await turn(b, "Sí, soy yo")
    said = " ".join([i async for i in b.keys("2") if not isinstance(i, ToolCall)])  # 2: no moment now
    assert "llamar" in said and "185000" not in said
    c = agent("temprana")
    await turn(c, "Sí, soy yo")
    said = " ".join([i async for i in c.keys("1") if not isinstance(i, ToolCall)])  # 1: go ahead
    assert "185000" in said


async def test_a_reminder_answer_not_understood_is_asked_again_then_a_person_takes_over():
    a = agent("temprana", REMINDED)
    await turn(a, "Sí, soy yo")
    await turn(a, "Sí")
    said, _ = await turn(a, "mmm zapato")
    assert "repetir" in said and a.step is Step.REMINDER
    said, _ = await turn(a, "blablá")
    assert "185000" in said and said.endswith("?")  # the question itself, again
    _, tools = await turn(a, "blablá")
    assert [t.name for t in tools] == ["transfer_to_agent"]


# ------------------------------------------------------------------ the notice heard, not only said
def cut(text: str, before: str) -> str:
    """What a barge-in lets through of `text`: everything before `before`, as `media.transcript.heard` writes it."""
    return text[: text.index(before)].rstrip() + "…"


@pytest.mark.parametrize("flow", FLOWS)
async def test_a_notice_cut_before_the_recording_is_said_before_the_debt_and_the_promise_is_kept(flow):
    a = agent(flow)
    notice, _ = await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(notice, "llamada es grabada"))  # heard: "Le habla Sofía, asistente virtual de ..."
    said, tools = await turn(a, "Ya sé, voy a pagar todo el quince")
    assert not tools
    assert said.startswith("Antes de seguir, le informo: Esta llamada es grabada.")
    assert said.index("grabada") < said.index("185000") < said.index("Entonces registro")
    assert said.count("Le habla") == 0  # what was heard is not said again
    assert "15 de diciembre" in said  # the promise made over the notice, read back
    _, tools = await turn(a, "Sí")
    assert [(t.name, t.arguments["date"]) for t in tools] == [("register_promise", "2026-12-15")]


async def test_a_go_ahead_over_a_cut_notice_hears_the_rest_of_it_then_the_debt():
    a = agent("temprana")
    notice, _ = await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(notice, "Esta llamada"))  # cut right after the first sentence
    said, _ = await turn(a, "Sí, dígame")
    assert said.startswith("Antes de seguir, le informo: Esta llamada es grabada. Le llamo por un pago pendiente.")
    assert said.index("grabada") < said.index("185000")
    said, _ = await turn(a, "El viernes")  # owed once, said once
    assert "grabada" not in said and "Entonces registro" in said


async def test_a_notice_heard_in_full_is_not_said_again():
    a = agent("temprana")
    notice, _ = await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(notice, "un momento?"))  # cut in the question: the notice itself was heard
    said, _ = await turn(a, "Sí")
    assert "grabada" not in said and "185000" in said


async def test_a_cut_reprompt_after_a_notice_heard_whole_owes_nothing():
    a = agent("temprana")
    await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(a.reprompt(), a.reprompt().split()[-1]))  # silence, then a cut in the re-prompt
    said, _ = await turn(a, "Sí, sí")
    assert "grabada" not in said and "185000" in said


async def test_a_cut_notice_waits_for_the_debt_and_a_callback_needs_no_notice_again():
    a = agent("temprana")
    notice, _ = await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(notice, "Le llamo por"))  # the recording heard, not the purpose
    said, tools = await turn(a, "No, ahora no puedo")  # "ahora no": when, then? no debt said
    assert tools == [] and "volver a llamar" in said and "pendiente" not in said
    said, tools = await turn(a, "No sé, cuando pueda")  # no time: the default callback, booked
    assert [t.name for t in tools] == ["schedule_callback"] and "pendiente" not in said
    a = agent("temprana")
    notice, _ = await turn(a, "Sí, soy yo")
    a.correct_last_reply(cut(notice, "Le llamo por"))
    said, _ = await turn(a, "No")  # no moment: when to call back, and still no debt
    assert "grabada" not in said and "pendiente" not in said and "185000" not in said
    said, _ = await turn(a, "Sí, bueno, dígame")  # a yes after all: the purpose, then the debt
    assert said.startswith("Antes de seguir, le informo: Le llamo por un pago pendiente.")
    assert "grabada" not in said and said.index("pendiente") < said.index("185000")


async def test_a_promise_read_back_after_a_cut_notice_is_read_again_before_a_yes_registers_it():
    a = agent("temprana")
    said, _ = await turn(a, "Sí, soy yo, le pago todo el viernes")  # notice, debt and read-back at once
    a.correct_last_reply(cut(said, "Esta llamada"))
    said, tools = await turn(a, "Sí")
    assert not tools  # a yes to what was not heard registers nothing
    assert said.index("grabada") < said.index("Entonces registro") and "viernes 27 de noviembre" in said
    _, tools = await turn(a, "Sí")
    assert [(t.name, t.arguments["date"]) for t in tools] == [("register_promise", "2026-11-27")]


@pytest.mark.parametrize("flow", ["temprana", "tardia", "prejudicial"])
async def test_a_debtor_who_dialled_in_is_thanked_and_still_asked_who_they_are(flow):
    a = RuleAgent(load_flow(flow), FACTS, clock=lambda: NOW, country="CL", called_in=True)
    greeting = a.greeting()
    assert greeting == "Hola, buenos días, gracias por llamar a Tarjeta Cencosud. ¿Hablo con María?"
    said, _ = await turn(a, "Sí, soy yo")
    assert "grabada" in said  # the opening goes on as on a call out: the notice before the debt
    assert "185" not in greeting


def test_the_llm_s_example_opening_thanks_a_debtor_who_dialled_in():
    from agent.prompts import system_prompt
    flow = load_flow("temprana")
    out = system_prompt(flow, FACTS, now=NOW, country="CL")
    dialled_in = system_prompt(flow, FACTS, now=NOW, country="CL", called_in=True)
    assert "gracias por llamar" not in out and "gracias por llamar a {company}. ¿Hablo con {first_name}?" in dialled_in
    assert "no des ningún detalle de la deuda antes" in dialled_in  # the identity still comes first
