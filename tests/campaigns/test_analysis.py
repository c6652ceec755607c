"""Post-call analysis on a real PostgreSQL: answered calls queued as they close, stored transcripts
(call_lines, or call_turns for older calls) analysed by the worker, the document and its webhooks
written in one transaction, the LLM path against the OpenAI-compatible stand-in, the lease and
retry rules of the queue, and the ready-for-human queue a supervisor works through."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ClassificationConfigError, load_classification
from analysis.store import AnalysisError, AnalysisLeaseLost, AnalysisNotFound, AnalysisStore
from analysis.worker import AnalysisWorker, LlmEndpoint
from ari_app.app import analysis_worker
from ari_app.settings import Settings
from campaigns.calls import CallLog, CallOutcome, Direction
from tests.campaigns.conftest import seed_debtors
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

SCHEME = load_classification()
GREETING = ("agent", "Hola, le habla Sofía de Natura. ¿Hablo con la persona titular?")


@pytest.fixture(autouse=True)
async def empty_queue(db_pool):
    """The session's database is shared: other tests' answered calls are queued too."""
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM call_analyses")


async def answered_call(pool, company, *, lines=(), turns=(), result=None, promise=None,
                        outcome=CallOutcome.ANSWERED, kind="temprana") -> uuid.UUID:
    """A call to a new debtor, its transcript stored, closed through CallLog as the app closes it."""
    (debtor_id,) = await seed_debtors(pool, company, 1, phones=1, delinquency_type=kind)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, e164 FROM phones WHERE debtor_id = %s", (debtor_id,))
        phone_id, e164 = await cur.fetchone()
    attempt, log = uuid.uuid4(), CallLog(pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"an-{attempt}",
                           remote_number=e164, debtor_id=debtor_id, phone_id=phone_id)
    await log.mark_answered(attempt)
    async with pool.connection() as conn:
        for i, (speaker, text) in enumerate(lines):
            await conn.execute(
                """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (attempt, speaker, text, i * 3000, i * 3000 + 2500, "stt" if speaker == "caller" else "tts"))
        for i, (user, agent) in enumerate(turns):
            await conn.execute("INSERT INTO call_turns (attempt_id, idx, user_text, agent_spoken) VALUES (%s, %s, %s, %s)",
                               (attempt, i, user, agent))
        if result:
            await conn.execute("UPDATE call_attempts SET result = %s WHERE id = %s", (result, attempt))
        if promise:
            await conn.execute("INSERT INTO promises (attempt_id, debtor_id, promised_date, amount) VALUES (%s, %s, %s, %s)",
                               (attempt, debtor_id, *promise))
    await log.close_attempt(attempt, outcome=outcome, hangup_cause=16, hangup_cause_txt="Normal Clearing")
    return attempt


def worker(pool, scheme=SCHEME, **kwargs) -> AnalysisWorker:
    kwargs.setdefault("batch_size", 10)
    return AnalysisWorker(AnalysisStore(pool), scheme, **kwargs)


async def analyse_all(w: AnalysisWorker) -> None:
    async with w:
        while await w.run_once():
            pass


async def outbox(pool, attempt) -> list[tuple[str, dict, str]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT event, payload, xmin::text FROM webhook_outbox WHERE call_key = %s ORDER BY id",
                                 (str(attempt),))
        return await cur.fetchall()


def next_december_15() -> date:
    today = datetime.now(ZoneInfo("America/Santiago")).date()
    return date(today.year if today <= date(today.year, 12, 15) else today.year + 1, 12, 15)


# ---------------------------------------------------------------- enqueue
async def test_only_answered_calls_are_queued_once_when_they_close(db_pool, company):
    unanswered = [await answered_call(db_pool, company, outcome=o) for o in
                  (CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL, CallOutcome.SILENT)]
    answered = await answered_call(db_pool, company, lines=[("caller", "sí")])
    assert not await CallLog(db_pool).close_attempt(answered, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                                    hangup_cause_txt=None)  # a second close changes nothing
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT attempt_id, status, tries FROM call_analyses")
        assert await cur.fetchall() == [(answered, "pending", 0)]
    assert [await AnalysisStore(db_pool).get(a) for a in unanswered] == [None] * 4


# ---------------------------------------------------------------- the rules through the worker
async def test_a_spoken_promise_is_stored_with_its_date_and_amount_and_announced(db_pool, company):
    attempt = await answered_call(db_pool, company, lines=[
        GREETING, ("caller", "Sí, soy yo."), ("agent", "Le llamo por su saldo pendiente de Natura."),
        ("caller", "Le pago cincuenta mil el quince de diciembre."), ("agent", "Perfecto, muchas gracias.")])
    await analyse_all(worker(db_pool))
    row = await AnalysisStore(db_pool).get(attempt)
    assert (row["status"], row["analyzer"], row["tries"], row["error"]) == ("done", "rules", 1, None)
    assert (row["promise_date"], row["promise_amount"]) == (next_december_15(), Decimal("50000.00"))
    assert (row["interest_level"], row["next_action"], row["needs_human"]) == ("high", "close_deal", False)
    assert row["result"]["turn_sentiments"] == ["neutral", "positive"]
    assert row["result"]["transcript_source"] == "call_lines" and row["classification"]["payment_stance"] == "will_pay"
    ((event, payload, _),) = [e for e in await outbox(db_pool, attempt) if e[0] != "call_started" and e[0] != "call_ended"]
    assert event == "call_analyzed" and payload["analysis"]["promise"]["amount"] == "50000"
    assert payload["call"]["phone"].count("*") >= 5 and payload["outcome"] == "answered"


async def test_a_call_without_lines_is_read_from_its_turns_and_a_refusal_is_no_interest(db_pool, company):
    attempt = await answered_call(db_pool, company, turns=[
        ("Sí, con él.", "Le llamo por su deuda con Natura."),
        ("No, no quiero pagar nada, no me interesa.", "Entiendo. Que tenga buen día.")])
    both = await answered_call(db_pool, company, lines=[GREETING, ("caller", "quiero hablar con una persona")],
                               turns=[("le pago mañana cincuenta mil", "Gracias")])
    jobs = {j.attempt_id: j for j in await AnalysisStore(db_pool).claim(10)}
    assert [(x["speaker"], x["text"]) for x in jobs[attempt].input["lines"]] == [
        ("caller", "Sí, con él."), ("agent", "Le llamo por su deuda con Natura."),
        ("caller", "No, no quiero pagar nada, no me interesa."), ("agent", "Entiendo. Que tenga buen día.")]
    assert jobs[attempt].input["transcript_source"] == "call_turns"
    assert jobs[both].input["transcript_source"] == "call_lines"  # the lines win when a call has both
    async with db_pool.connection() as conn:  # give the claims back
        await conn.execute("UPDATE call_analyses SET status = 'pending', lease_until = NULL, tries = 0")
    await analyse_all(worker(db_pool))
    row = await AnalysisStore(db_pool).get(attempt)
    assert (row["next_action"], row["interest_level"], row["sentiment"]) == ("no_interest", "low", "negative")
    assert row["result"]["transcript_source"] == "call_turns" and row["promise_date"] is None
    assert (await AnalysisStore(db_pool).get(both))["needs_human"] is True


async def test_a_request_for_a_person_needs_a_human_and_raises_a_sentiment_alert(db_pool, company):
    attempt = await answered_call(db_pool, company, kind="prejudicial", lines=[
        GREETING, ("caller", "¿Otra vez ustedes?"), ("agent", "Le llamo por su deuda."),
        ("caller", "Ya les dije, estoy harto. Quiero hablar con una persona, no con una máquina.")])
    calm = await answered_call(db_pool, company, lines=[GREETING, ("caller", "No, no quiero pagar.")])
    await analyse_all(worker(db_pool))
    row = await AnalysisStore(db_pool).get(attempt)
    assert row["needs_human"] and row["priority"] == 100 and row["next_action"] == "schedule_meeting"
    events = await outbox(db_pool, attempt)
    alerts = [p for e, p, _ in events if e == "sentiment_alert"]
    assert len(alerts) == 1 and alerts[0]["reasons"] == ["asked_for_human", "frustrated"]
    assert alerts[0]["priority"] == 100 and "persona" in alerts[0]["summary"]
    # Both events and the analysis row were written by one transaction (the same xmin).
    (tx,) = {x for e, _, x in events if e in ("call_analyzed", "sentiment_alert")}
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT xmin::text FROM call_analyses WHERE attempt_id = %s", (attempt,))
        assert (await cur.fetchone())[0] == tx
    assert [e for e, _, _ in await outbox(db_pool, calm)][-1] == "call_analyzed"  # unhappy, but no alert


async def test_an_analysis_whose_webhook_cannot_be_written_is_not_stored_and_is_retried(db_pool, company):
    attempt = await answered_call(db_pool, company, lines=[GREETING, ("caller", "sí, dígame")])
    trigger = f"refuse_{attempt.hex}"
    async with db_pool.connection() as conn:
        await conn.execute(f"""CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS
                               $$ BEGIN RAISE EXCEPTION 'outbox is full'; END $$""")
        await conn.execute(f"""CREATE TRIGGER {trigger} BEFORE INSERT ON webhook_outbox FOR EACH ROW
                               WHEN (NEW.event = 'call_analyzed' AND NEW.call_key = '{attempt}')
                               EXECUTE FUNCTION {trigger}()""")
    try:
        await analyse_all(worker(db_pool))
    finally:
        async with db_pool.connection() as conn:
            await conn.execute(f"DROP TRIGGER {trigger} ON webhook_outbox")
            await conn.execute(f"DROP FUNCTION {trigger}()")
    row = await AnalysisStore(db_pool).get(attempt)
    assert (row["status"], row["summary"], row["analyzed_at"]) == ("pending", "", None)  # rolled back with it
    assert "outbox is full" in row["error"] and row["lease_until"] > datetime.now(row["lease_until"].tzinfo)
    assert "call_analyzed" not in [e for e, _, _ in await outbox(db_pool, attempt)]
    async with db_pool.connection() as conn:  # the backoff is over
        await conn.execute("UPDATE call_analyses SET lease_until = now() WHERE attempt_id = %s", (attempt,))
    await analyse_all(worker(db_pool))
    assert (await AnalysisStore(db_pool).get(attempt))["status"] == "done"
    assert [e for e, _, _ in await outbox(db_pool, attempt)].count("call_analyzed") == 1


async def test_the_rule_analyzer_runs_off_the_event_loop(db_pool, company):
    await answered_call(db_pool, company, lines=[("caller", "sí")])
    w, threads = worker(db_pool), []
    analyze = w.rules.analyze
    w.rules.analyze = lambda inp: (threads.append(threading.current_thread()), analyze(inp))[1]
    await analyse_all(w)
    assert threads and all(t is not threading.main_thread() and t.name.startswith("call-analysis") for t in threads)


async def test_the_running_worker_picks_up_a_closed_call_and_the_settings_choose_the_analyzer(db_pool, company,
                                                                                                tmp_path):
    w = worker(db_pool, poll_s=0.05)
    async with w:
        task = asyncio.create_task(w.run())
        attempt = await answered_call(db_pool, company, lines=[("caller", "sí")])
        async with asyncio.timeout(10):
            while (row := await AnalysisStore(db_pool).get(attempt))["status"] != "done":
                await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert row["analyzer"] == "rules"
    async with analysis_worker(db_pool, Settings(LLM_BASE_URL="http://127.0.0.1:9/v1")) as w:
        assert w.llm is not None and w.llm.name == "llm:gpt-4o-mini"
    async with analysis_worker(db_pool, Settings(LLM_BASE_URL="")) as w:
        assert w.llm is None and w.rules.scheme.names == SCHEME.names
    (tmp_path / "bad.toml").write_text("[categories.a]\nvalues = ['x']\nfallback = 'y'\n")
    with pytest.raises(ClassificationConfigError, match="bad.toml"):  # at start-up, not per call
        analysis_worker(db_pool, Settings(ANALYSIS_CLASSIFICATION_FILE=str(tmp_path / "bad.toml")))


_WORDS = ["sí", "no", "le", "pago", "cincuenta", "mil", "el", "viernes", "quiero", "una", "persona", "harto",
          "cuotas", "link", "ya", "pagué", "equivocado", "no", "me", "interesa", "gracias", "¿cuánto?", "cesante"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["agent", "caller"]), st.lists(st.sampled_from(_WORDS), max_size=8)
                          .map(" ".join)), max_size=6))
async def test_stored_classifications_are_always_inside_their_enums(db_pool, lines):
    attempt = await answered_call(db_pool, "Empresa hypothesis", lines=lines)
    await analyse_all(worker(db_pool))
    row = await AnalysisStore(db_pool).get(attempt)
    assert row["status"] == "done" and set(row["classification"]) == set(SCHEME.names)
    for category in SCHEME.categories:
        assert row["classification"][category.name] in category.values


async def test_an_operators_classification_file_is_what_gets_stored(db_pool, company, tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[categories.product]\nvalues = ["card", "loan"]\nfallback = "loan"\n')
    attempt = await answered_call(db_pool, company, lines=[("caller", "sí")])
    await analyse_all(worker(db_pool, load_classification(path)))
    assert (await AnalysisStore(db_pool).get(attempt))["classification"] == {"product": "loan"}


# ---------------------------------------------------------------- the LLM path
def model_reply(**overrides) -> str:
    reply = {"summary": "El deudor prometió pagar el 20 de diciembre.", "sentiment": "positive",
             "turn_sentiments": ["neutral", "positive"], "interest_level": "high", "next_action": "close_deal",
             "promise": None, "needs_human": False, "priority": 0,
             "asked_for_human": False, "frustrated": False, "classification": SCHEME.fallbacks()}
    return json.dumps({**reply, **overrides}, ensure_ascii=False)


async def test_an_invalid_model_reply_is_retried_with_its_problems_and_the_valid_one_stored(db_pool, company):
    registered = datetime.now(ZoneInfo("America/Santiago")).date() + timedelta(days=5)
    attempt = await answered_call(db_pool, company, result="promise", promise=(registered, Decimal(104050)), lines=[
        GREETING, ("caller", "Sí."), ("caller", "Le pago ciento cuatro mil cincuenta en cinco días.")])
    misread = {"date": (registered + timedelta(days=1)).isoformat(), "amount": 1040}  # the model's own reading
    replies = [ScriptedReply(text=model_reply(classification={**SCHEME.fallbacks(), "urgency": "extreme"})),
               ScriptedReply(text=model_reply(promise=misread))]
    async with ScriptedOpenAIServer(replies).running() as server:
        await analyse_all(worker(db_pool, llm=LlmEndpoint(server.base_url, "k", "scripted")))
    row = await AnalysisStore(db_pool).get(attempt)
    assert (row["analyzer"], row["summary"]) == ("llm:scripted", "El deudor prometió pagar el 20 de diciembre.")
    assert row["result"]["fallback_reason"] is None
    # The agent's registered promise outranks the model's reading.
    assert (row["promise_date"], row["promise_amount"]) == (registered, Decimal("104050.00"))
    first, second = server.requests
    assert first["stream"] is False and first["response_format"]["json_schema"]["strict"] is True
    schema = first["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["classification"]["properties"]["urgency"]["enum"] == ["high", "normal", "low"]
    assert second["messages"][-2]["role"] == "assistant" and "extreme" in second["messages"][-2]["content"]
    assert "classification.urgency = 'extreme'" in second["messages"][-1]["content"]


async def test_a_failing_endpoint_or_a_model_that_never_complies_falls_back_to_the_rules(db_pool, company):
    broken = await answered_call(db_pool, company, lines=[GREETING, ("caller", "quiero hablar con una persona")])
    async with ScriptedOpenAIServer([ScriptedReply(status=500)]).running() as server:
        await analyse_all(worker(db_pool, llm=LlmEndpoint(server.base_url, "k", "scripted")))
    row = await AnalysisStore(db_pool).get(broken)
    assert (row["status"], row["analyzer"], row["needs_human"]) == ("done", "rules", True)
    assert "endpoint failed" in row["result"]["fallback_reason"] and "500" in row["result"]["fallback_reason"]
    assert len(server.requests) == 1  # a broken endpoint is not hammered

    stubborn = await answered_call(db_pool, company, lines=[GREETING, ("caller", "sí")])
    async with ScriptedOpenAIServer([ScriptedReply(text="Claro, aquí va el análisis.")] * 3).running() as server:
        await analyse_all(worker(db_pool, llm=LlmEndpoint(server.base_url, "k", "scripted")))
    row = await AnalysisStore(db_pool).get(stubborn)
    assert row["analyzer"] == "rules" and row["result"]["fallback_reason"].startswith("invalid output after 3 tries")
    assert len(server.requests) == 3


# ---------------------------------------------------------------- the queue's lease and retries
async def test_an_expired_lease_is_claimed_again_and_failures_back_off_then_give_up(db_pool, company):
    store = AnalysisStore(db_pool, lease_s=0.3, max_tries=2, retry_base_s=0.3, retry_cap_s=0.3)
    first = await answered_call(db_pool, company, lines=[("caller", "sí")])
    (job,) = await store.claim(5)
    assert (job.attempt_id, job.tries) == (first, 1) and await store.claim(5) == []  # leased
    await asyncio.sleep(0.4)
    (again,) = await store.claim(5)  # the worker died: its lease ran out
    assert (again.attempt_id, again.tries) == (first, 2)
    with pytest.raises(AnalysisLeaseLost):  # the first worker's late result is refused
        await store.save(first, {"analyzer": "rules"} | _doc(), tries=1)
    assert await store.fail(first, "boom", tries=2) == "failed"  # the second and last try
    assert await store.fail(first, "late", tries=2) is None

    second = await answered_call(db_pool, company, lines=[("caller", "sí")])
    (job,) = await store.claim(5)
    assert await store.fail(second, "database hiccup", tries=job.tries) == "pending"
    assert await store.claim(5) == []  # backing off
    await asyncio.sleep(0.4)
    (job,) = await store.claim(5)
    await asyncio.sleep(0.4)  # its last lease runs out too: given up on, not claimed forever
    assert await store.claim(5) == []
    row = await store.get(second)
    assert row["status"] == "failed" and "gave up" in row["error"] and "database hiccup" in row["error"]


def _doc(**overrides):
    return {"summary": "x", "sentiment": "neutral", "sentiment_trend": "stable", "interest_level": "low",
            "next_action": "follow_up_call", "promise": None, "needs_human": False, "priority": 0,
            "classification": SCHEME.fallbacks(), **overrides}


# ---------------------------------------------------------------- ready for a human
async def test_the_ready_for_human_queue_orders_by_priority_then_age_and_closes_once(db_pool, company):
    says = {"terms": "¿puedo pagar en cuotas?", "person": "quiero hablar con una persona",
            "angry": "quiero hablar con una persona, estoy harto", "promise": "le pago cincuenta mil el viernes"}
    calls = {}
    w = worker(db_pool, batch_size=1)
    async with w:
        for name in ("terms", "person", "angry", "promise", "person_later"):
            calls[name] = await answered_call(db_pool, company, lines=[GREETING, ("caller", says.get(name, says["person"]))])
            assert await w.run_once() == 1  # one at a time: analysed_at follows the order above
    waiting = await answered_call(db_pool, company, lines=[("caller", "sí")])  # not analysed yet
    store = AnalysisStore(db_pool)

    queue = await store.ready_for_human()
    assert [r["attempt_id"] for r in queue] == [calls[n] for n in ("angry", "person", "person_later", "terms")]
    assert [r["priority"] for r in queue] == [90, 70, 70, 50]
    top = queue[0]
    assert top["debtor"] == "Deudor 0" and "*" in top["remote_number"] and top["outcome"] == "answered"
    assert top["next_action"] == "schedule_meeting" and top["summary"] and top["analyzed_at"] is not None
    page = await store.ready_for_human(limit=2, offset=1)
    assert [r["attempt_id"] for r in page] == [calls["person"], calls["person_later"]]

    with pytest.raises(AnalysisNotFound):
        await store.close(uuid.uuid4(), outcome="promise")
    with pytest.raises(AnalysisError, match="not_for_human"):
        await store.close(calls["promise"], outcome="promise")
    with pytest.raises(AnalysisError, match="not_analysed"):
        await store.close(waiting, outcome="promise")
    closed = await store.close(str(calls["angry"]), outcome="promise", notes="Paga el viernes", by="ana")
    assert (closed["closed_outcome"], closed["closed_notes"], closed["closed_by"]) == ("promise", "Paga el viernes", "ana")
    with pytest.raises(AnalysisError, match="already_closed.*by ana"):
        await store.close(calls["angry"], outcome="no_answer")
    assert calls["angry"] not in [r["attempt_id"] for r in await store.ready_for_human()]
    assert "followup_closed" in [e.kind for e in await CallLog(db_pool).events(calls["angry"])]
    with pytest.raises(ValueError, match="limit"):
        await store.ready_for_human(limit=0)
