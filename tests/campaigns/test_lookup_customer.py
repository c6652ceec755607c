"""An inbound caller nobody recognised, with the LLM: the model looks them up by RUT (lookup_customer)
through the call's own identification, on a real PostgreSQL and over the real wire protocol (the
scripted OpenAI-compatible stand-in). Nothing of the debt reaches the model before the RUT matched;
after it, the call is the debtor's and their promise is recorded as theirs."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import pytest

from agent.identify_agent import IdentificationLocked
from agent.llm import ChatLlm
from agent.tools import INBOUND_TOOL_SCHEMAS, LookupCustomer
from ari_app.calls.dialogue import ConversationFactory
from ari_app.calls.party import CallParty
from ari_app.settings import Settings
from campaigns.actions import CallActions, CallContext
from campaigns.calls import CallLog, Direction
from campaigns.debtors import DebtorDirectory
from tests.campaigns.test_contacts import Desk
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply


def _rut() -> tuple[str, str]:
    """A valid RUT nobody else has (said with dots), and the same with a wrong check digit."""
    body = random.randrange(10_000_000, 25_000_000)
    total, factor = 0, 2
    for digit in reversed(str(body)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    check = {11: "0", 10: "K"}.get(11 - total % 11, str(11 - total % 11))
    wrong = "1" if check != "1" else "2"
    said = f"{body:,}".replace(",", ".")
    return f"{said}-{check}", f"{said}-{wrong}"


async def test_the_model_identifies_an_unknown_caller_by_rut_and_learns_the_debt_only_then(db_pool, company):
    desk = await Desk.open(db_pool, company)
    await desk.wave()  # the debtor's campaign: its flow and country
    rut, wrong_rut = _rut()
    pay_on = date.today() + timedelta(days=5)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET national_id = %s, full_name = 'Rosa Díaz Soto', amount_owed = 185000, "
                           "max_date = %s WHERE id = %s",
                           (rut.replace(".", ""), date.today() + timedelta(days=30), desk.debtor_id))
        cur = await conn.execute("SELECT right(e164, 4) FROM phones WHERE debtor_id = %s LIMIT 1", (desk.debtor_id,))
        (last4,) = await cur.fetchone()
    wrong4 = "0000" if last4 != "0000" else "1111"
    attempt = uuid.uuid4()
    await CallLog(db_pool).open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"in-{attempt}")
    journal: list[tuple[str, dict]] = []
    replies = [
        ScriptedReply(tool_calls=[("lookup_customer", {"rut": wrong_rut, "phone_last4": last4})]),
        ScriptedReply(text="Ese RUT no es válido. ¿Me lo repite?"),
        ScriptedReply(tool_calls=[("lookup_customer", {"rut": rut, "phone_last4": wrong4})]),
        ScriptedReply(text="Esos datos no coinciden. ¿Me los repite?"),
        ScriptedReply(tool_calls=[("lookup_customer", {"rut": rut, "phone_last4": last4})]),
        ScriptedReply(text="Gracias, Rosa. Su deuda es de 185000 pesos. ¿Qué día puede pagar?"),
        ScriptedReply(tool_calls=[("register_promise", {"date": pay_on.isoformat(), "amount": 185000})]),
        ScriptedReply(text="Su compromiso quedó registrado. Gracias."),
    ]
    async with ScriptedOpenAIServer(replies).running() as server, \
            ChatLlm(base_url=server.base_url, api_key="k", model="scripted") as llm:
        factory = ConversationFactory(Settings(), tts=None, stt=None, llm=llm)  # type: ignore[arg-type]
        party = CallParty(CallContext(attempt), lambda kind, data: journal.append((kind, data)),
                          actions=CallActions(db_pool), debtors=DebtorDirectory(db_pool), conversations=factory)
        agent = factory._agent(None, party.identify, after_failed_transfer=False)  # an unknown caller's agent
        agent.greeting()

        async def turn(text: str) -> str:  # as the call's player runs it: each tool through the call's sink
            said = []
            async for item in agent.reply(text):
                if isinstance(item, str):
                    said.append(item)
                else:
                    item.result = await party.on_tool(item)
            return " ".join(said)

        assert "RUT" in await turn(f"Hola, mi RUT es {wrong_rut}, y mi teléfono termina en {last4}")
        assert party.debtor_id is None  # a wrong check digit identifies nobody
        assert "coinciden" in await turn(f"Perdón, es {rut}, y el teléfono termina en {wrong4}")
        assert party.debtor_id is None  # the right RUT alone identifies nobody either
        said = await turn(f"Ah no, termina en {last4}")
        assert "185000" in said and party.debtor_id == desk.debtor_id
        said = await turn(f"El {pay_on.day}, todo")
        assert "quedó registrado" in said

    assert server.requests[0]["tools"] == INBOUND_TOOL_SCHEMAS
    first, wrong, mismatch, right = server.requests[0], server.requests[1], server.requests[3], server.requests[5]
    for request in (first, wrong, mismatch):  # nothing of the debt before RUT and phone digits matched
        sent = str(request["messages"])
        assert "Rosa" not in sent and "185000" not in sent and company not in sent
    (refused,) = [m for m in wrong["messages"] if m["role"] == "tool"]
    assert refused["content"].startswith("refused: invalid_id")
    refused = [m for m in mismatch["messages"] if m["role"] == "tool"][-1]
    assert refused["content"].startswith("refused: not_found")
    found = [m for m in right["messages"] if m["role"] == "tool"][-1]
    assert found["tool_call_id"] == server.sent_tool_call_ids[4][0]
    assert found["content"].startswith("ok: identified.")
    assert "Rosa Díaz Soto" in found["content"] and "185000" in found["content"] and company in found["content"]
    assert f"max_date): {(date.today() + timedelta(days=30)).isoformat()}" in found["content"]
    # The call is the debtor's: linked, and the promise recorded as theirs.
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT debtor_id, result FROM call_attempts WHERE id = %s", (attempt,))
        assert await cur.fetchone() == (desk.debtor_id, "promise")
        cur = await conn.execute("SELECT debtor_id, promised_date FROM promises WHERE attempt_id = %s", (attempt,))
        assert await cur.fetchone() == (desk.debtor_id, pay_on)
    assert ("identified", {"by": "lookup_customer", "debtor_id": desk.debtor_id}) in journal
    assert any(kind == "identify_failed" and data["by"] == "lookup_customer" for kind, data in journal)


async def test_a_number_that_failed_six_times_today_is_refused_before_any_lookup(db_pool):
    caller = f"+5695{random.randrange(1_000_000, 9_999_999)}"
    log = CallLog(db_pool)
    for _ in range(2):  # two earlier calls from this number, three failed tries each
        earlier = uuid.uuid4()
        await log.open_attempt(attempt_id=earlier, direction=Direction.INBOUND, channel_id=f"in-{earlier}",
                               remote_number=caller)
        for _ in range(3):
            await log.add_event(earlier, "identify_failed", {"by": "dtmf", "reason": "no debtor has this RUT"})
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"in-{attempt}",
                           remote_number=caller)
    journal: list[tuple[str, dict]] = []
    factory = ConversationFactory(Settings(), tts=None, stt=None, llm=None)  # type: ignore[arg-type]
    party = CallParty(CallContext(attempt), lambda kind, data: journal.append((kind, data)),
                      actions=CallActions(db_pool), debtors=DebtorDirectory(db_pool), conversations=factory,
                      caller=caller)
    rut, _ = _rut()
    with pytest.raises(IdentificationLocked):
        await party.identify(rut, "dtmf")
    result = await party.lookup_customer(LookupCustomer(rut, "1234"))
    assert not result.ok and result.text.startswith("refused: identify_locked"), result.text
    assert [kind for kind, _ in journal] == ["identify_locked", "identify_locked"]
    # Another number is not locked by this one's failures.
    other = CallParty(CallContext(attempt), lambda kind, data: None, actions=CallActions(db_pool),
                      debtors=DebtorDirectory(db_pool), conversations=factory, caller=caller + "1")
    assert (await other.identify(rut, "dtmf")).card is None
    async with db_pool.connection() as conn:  # nobody was identified: the call is still nobody's
        cur = await conn.execute("SELECT debtor_id FROM call_attempts WHERE id = %s", (attempt,))
        assert await cur.fetchone() == (None,)
