"""Benchmark: after the call — rule-based analysis, the analysis worker on PostgreSQL, the operator API.

1. Rule analysis in-process: `RuleAnalyzer(load_classification()).analyze` over generated Spanish
   collections transcripts of 6-20 lines (promises with amounts and dates, refusals, "ya pagué",
   asking for a person, callbacks, hardship, negotiation, disputes, wrong numbers, filler), one
   thread, one call at a time: ms per call (median, p95), and what the rules made of the mix.
2. The analysis worker end to end: N answered calls written as the app writes them (`CallLog`
   open_attempt, mark_answered, the transcript in `call_lines`, some with the agent's result and a
   registered promise, close_attempt with ANSWERED, which queues the analysis), then
   `AnalysisWorker(AnalysisStore(pool), scheme).run_once()` until nothing is left: calls analysed
   per second, the time per claim / analysis / save, and a check that every row ended 'done'.
3. The operator API served for real (`OperatorApi` on port 0 with a token, as tests/api builds it)
   over M calls spread over the last `--days` days, bulk-loaded with COPY (transcripts, turns with
   latencies, promises, analyses written by the rules, waves and jobs, a few live calls): latency
   (median, p95) of the dashboard's and an integrator's reads, sequential requests from one aiohttp
   client, the CSV export of every row, and requests/s at one concurrency level.
   `--explain` prints EXPLAIN ANALYZE of the worker's claim and of the queries behind the slow reads;
   `--what-if-indexes` then adds an index the schema lacks (call_jobs by wave; the others this
   benchmark once asked for are in migration 0009) in the scratch database and times those reads
   again: a comparison, never a change to the schema.

Client, server and PostgreSQL share the machine's cores: the latencies include that contention.
Needs only PostgreSQL (a scratch database per part). Prints figures; asserts nothing about speed
(it exits non-zero only when a correctness check fails: an analysis not 'done', a non-200 answer).
Run: `python -m bench.after_the_call` (`--transcripts 3000 --worker-calls 2000 --worker-batches 4,10
--api-calls 20000 --days 7 --requests 100 --export-runs 3 --concurrency 8`; `--parts 1,2,3`).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import math
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import psycopg
from psycopg.types.json import Jsonb

from ari_app.analysis import AnalysisWorker
from ari_app.http import ApiServices, OperatorApi
from ari_app.settings import Settings
from campaigns.analyses import _CALLS as _ANALYSIS_CALLS
from campaigns.analyses import _CLAIM as _ANALYSIS_CLAIM
from campaigns.analyses import _GIVE_UP as _ANALYSIS_GIVE_UP
from campaigns.analyses import AnalysisStore
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.db import open_database
from campaigns.supervision import _CALL_COLUMNS, _CALL_FROM, _CALL_WHERE, EXPORT_QUERY
from campaigns.webhooks import WebhookDelivery
from media.analysis import (
    AnalysisInput,
    CallAnalysis,
    CallFacts,
    RegisteredPromise,
    RuleAnalyzer,
    Utterance,
    load_classification,
)
from media.recordings import LocalRecordingStore
from tests.scratch_db import scratch_database

SANTIAGO = ZoneInfo("America/Santiago")
TOKEN = "bench-operator-token-0123456789abcdef"

# ---------------------------------------------------------------- transcripts
AMOUNTS = ("cincuenta mil", "veinte mil pesos", "$30.000", "100.000 pesos", "cuarenta y cinco mil", "15 mil",
           "setenta mil pesos", "$ 80.000", "doscientos mil", "la mitad, unos sesenta mil", "25.000", "ciento veinte mil")
DATES = ("el viernes", "el quince de diciembre", "mañana", "el 5 de enero", "el lunes", "pasado mañana",
         "el 30 de este mes", "el sábado", "la próxima semana", "el 10", "el jueves en la tarde", "el primero")
COMPANIES = ("Natura", "Banco Estado", "Ripley", "Falabella", "Entel", "Movistar")
AGENT_NAMES = ("Sofía", "Camila", "Valentina")

IDENTITY = ("Sí, soy yo.", "Sí, con él habla.", "Aló, sí, ella habla.", "Sí, dígame.", "¿Quién habla?",
            "Sí, ¿de parte de quién?", "Él habla, ¿qué necesita?", "Aló... sí, soy yo.")
PROMISE = ("Le pago {amount} {date}.", "Puedo pagar {amount} {date}.", "{Date} le deposito {amount}.",
           "Ya, le transfiero {amount} {date} sin falta.", "Mire, {date} me pagan y le abono {amount}.",
           "Le puedo pagar {amount} {date}, por transferencia.", "Bueno, {date} pago {amount} en la sucursal.",
           "Me comprometo a pagar {amount} {date}.")
PROMISE_FOLLOW = ("Sí, {date} sin falta.", "Ya, quedamos así entonces.", "Sí, le confirmo, {amount}.",
                  "Perfecto, ¿me manda el link por WhatsApp?", "Bueno, gracias.")
REFUSAL = ("No voy a pagar nada.", "No me interesa, gracias.", "No les pienso pagar, que me demanden.",
           "Olvídese, no pago.", "No tengo nada que pagar, no me llamen más.", "No quiero pagar, esa empresa es un robo.")
ALREADY_PAID = ("Ya pagué eso la semana pasada.", "Eso ya lo pagué, tengo el comprobante.",
                "Yo pagué en la sucursal el lunes.", "Ya está pagado, revisen bien por favor.",
                "Pagué hace como diez días por transferencia.")
HUMAN = ("Quiero hablar con una persona.", "Páseme con un ejecutivo, por favor.",
         "¿Me puede comunicar con un supervisor?", "No quiero hablar con una máquina, quiero una persona.",
         "Prefiero hablar con alguien de carne y hueso.")
CALLBACK = ("Estoy manejando, llámeme más tarde.", "Llámeme mañana a las cinco.",
            "Ahora no puedo, ¿me llama el lunes en la tarde?", "Estoy en el trabajo, llámeme después de las seis.",
            "Estoy en una reunión, ¿me puede llamar en una hora?")
CANNOT_PAY = ("Estoy sin trabajo, no tengo plata.", "Me despidieron hace dos meses, no puedo pagar.",
              "No me alcanza, tengo otras deudas.", "Estuve enfermo, no he podido pagar nada.",
              "Lamentablemente ahora no tengo cómo pagar.")
NEGOTIATE = ("¿Puedo pagar en cuotas?", "¿Me pueden hacer un descuento?",
             "¿Y si pago la mitad ahora y el resto el otro mes?", "¿Hay alguna repactación?",
             "¿Me pueden bajar los intereses?")
DISPUTE = ("Esa deuda no es mía.", "Yo nunca compré nada en esa tienda.",
           "Ese monto está mal, yo debía mucho menos.", "No reconozco esa deuda, debe ser un error.")
FRUSTRATION = ("¡Hasta cuándo me llaman! Todos los días me llaman.", "Ya les dije que no, estoy harto.",
               "Voy a poner un reclamo en el Sernac.", "¿Cuántas veces tengo que decirlo?")
WRONG = ("Número equivocado, aquí no vive nadie con ese nombre.", "No conozco a esa persona, se equivocó.",
         "No, este número es de otra persona hace años.")
THIRD = ("No está, soy su hija, le dejo el recado.", "Salió, soy la esposa, ¿quiere que le diga algo?",
         "No se encuentra, soy su hermano.")
FILLER = ("Ajá.", "Sí.", "Ya.", "¿Cuánto es lo que debo?", "¿Me puede repetir?", "No le escucho bien.",
          "Mmm, déjeme ver.", "¿De qué empresa me dijo?", "Bueno.", "Ok, ¿y por dónde pago?",
          "¿Me manda el detalle por correo?", "Sí, sí, entiendo.", "¿Y eso desde cuándo?", "Espere un momento.")
GOODBYE = ("Gracias, hasta luego.", "Chao.", "Ya, adiós.", "Bueno, gracias, que esté bien.")

AGENT_OPEN = ("Hola, le habla {agent} de {company}. ¿Hablo con la persona titular?",
              "Buenos días, mi nombre es {agent}, llamo de parte de {company}. ¿Me comunico con el titular?",
              "Buenas tardes, le saluda {agent}, asistente de cobranza de {company}. ¿Hablo con el titular?")
AGENT_DEBT = ("Le llamo por su saldo pendiente de {owed} pesos con {company}, vencido hace {days} días.",
              "Registramos una deuda de {owed} pesos con {company}. ¿Cuándo podría realizar el pago?",
              "Tiene un monto pendiente de {owed} pesos. ¿Podemos acordar una fecha de pago?")
AGENT_MIDDLE = ("Entiendo.", "¿Cuándo podría realizar el pago?", "¿Me confirma la fecha y el monto?",
                "Le puedo ofrecer pagar en cuotas.", "Puede pagar por transferencia o en cualquier sucursal.",
                "El monto total adeudado es de {owed} pesos.", "Comprendo su situación.",
                "Disculpe, ¿me repite?", "La deuda es con {company}, por {owed} pesos.")
# What the agent says right after the caller's core line, by the pool that line came from.
AGENT_REPLY = {
    "PROMISE": ("Perfecto, queda registrado su compromiso de pago de {amount} {date}.",
                "Muy bien, le envío el link de pago por SMS para {date}."),
    "REFUSAL": ("Entiendo. Le recuerdo que la deuda sigue vigente.", "Comprendo. Dejo registrada su respuesta."),
    "ALREADY_PAID": ("¿Me puede enviar el comprobante al correo para verificarlo?",
                     "Gracias, lo vamos a revisar con el área de pagos."),
    "HUMAN": ("Lo comunico con un ejecutivo, un momento por favor.", "Le transfiero con una persona del equipo."),
    "CALLBACK": ("Perfecto, lo llamamos entonces.", "De acuerdo, agendo la llamada."),
    "CANNOT_PAY": ("Comprendo su situación. ¿Podría abonar un monto menor?", "Lamento escuchar eso."),
    "NEGOTIATE": ("Podemos ofrecerle hasta seis cuotas.", "Eso lo tiene que evaluar un ejecutivo."),
    "DISPUTE": ("Vamos a revisar el origen de la deuda y lo contactamos.",),
    "FRUSTRATION": ("Disculpe las molestias.", "Lamento la insistencia, tomo nota."),
    "WRONG": ("Disculpe la molestia, actualizamos el registro.",),
    "THIRD": ("Gracias, ¿le puede pedir que nos devuelva la llamada?",),
}
AGENT_CLOSE = ("Gracias por su tiempo, que tenga buen día.", "Muchas gracias, hasta luego.",
               "Quedamos atentos. Que tenga una buena tarde.")

POOLS = {"PROMISE": PROMISE, "PROMISE_FOLLOW": PROMISE_FOLLOW, "REFUSAL": REFUSAL, "ALREADY_PAID": ALREADY_PAID,
         "HUMAN": HUMAN, "CALLBACK": CALLBACK, "CANNOT_PAY": CANNOT_PAY, "NEGOTIATE": NEGOTIATE, "DISPUTE": DISPUTE,
         "FRUSTRATION": FRUSTRATION, "WRONG": WRONG, "THIRD": THIRD}
# scenario -> (weight, the caller's core lines (a pool each, in order), the agent's result, registered promise share)
SCENARIOS: dict[str, tuple[int, tuple[str, ...], str | None, float]] = {
    "promise": (28, ("PROMISE", "PROMISE_FOLLOW"), "promise", 0.5),
    "negotiate_then_promise": (6, ("NEGOTIATE", "PROMISE"), "promise", 0.5),
    "refusal": (10, ("REFUSAL",), "refused", 0.0),
    "already_paid": (9, ("ALREADY_PAID",), "already_paid", 0.0),
    "asks_for_person": (9, ("HUMAN",), "transfer", 0.0),
    "callback": (12, ("CALLBACK",), "callback", 0.0),
    "cannot_pay": (9, ("CANNOT_PAY",), "cannot_pay", 0.0),
    "negotiate": (6, ("NEGOTIATE", "NEGOTIATE"), None, 0.0),
    "dispute": (4, ("DISPUTE",), "dispute", 0.0),
    "frustrated": (3, ("FRUSTRATION", "REFUSAL"), "refused", 0.0),
    "wrong_number": (2, ("WRONG",), "wrong_number", 0.0),
    "third_party": (2, ("THIRD",), None, 0.0),
}


@dataclass(frozen=True, slots=True)
class Transcript:
    scenario: str
    lines: tuple[tuple[str, str], ...]  # (speaker, text)
    result: str | None  # what the agent's tools recorded, when the generator says it did
    promise: tuple[date, Decimal] | None  # a registered promise


def _fill(template: str, facts: dict[str, str]) -> str:
    return template.format(**facts)


def make_transcript(rnd: random.Random, call_day: date, *, with_facts: bool = True) -> Transcript:
    """One call of 6-20 lines, agent and caller taking turns, the agent first; one amount, one date."""
    names = list(SCENARIOS)
    scenario = rnd.choices(names, weights=[SCENARIOS[n][0] for n in names])[0]
    _, core_pools, result, registered_share = SCENARIOS[scenario]
    day = rnd.choice(DATES)
    facts = {"amount": rnd.choice(AMOUNTS), "date": day, "Date": day[:1].upper() + day[1:],
             "owed": f"{rnd.randrange(30, 900) * 1000:,}".replace(",", "."), "company": rnd.choice(COMPANIES),
             "days": str(rnd.randrange(5, 120)), "agent": rnd.choice(AGENT_NAMES)}
    total = rnd.randint(6, 20)
    slots = total // 2  # agent at even indices, caller at odd ones
    # (caller text, the pool it came from: the agent's reply follows it)
    core = [(_fill(rnd.choice(POOLS[name]), facts), name) for name in core_pools]
    goodbye = [(rnd.choice(GOODBYE), None)] if total % 2 == 0 and slots >= len(core) + 2 else []
    fillers: list[tuple[str, str | None]] = [(rnd.choice(FILLER), None)
                                             for _ in range(max(slots - 1 - len(core) - len(goodbye), 0))]
    if fillers and rnd.random() < 0.1:  # now and then an upset caller in a call about something else
        fillers[0] = (rnd.choice(FRUSTRATION), "FRUSTRATION")
    split = len(fillers) // 2  # the core in the second half: greetings and questions first
    caller = ([(_fill(rnd.choice(IDENTITY), facts), None)] + fillers[:split] + core + fillers[split:])
    caller = caller[:slots - len(goodbye)] + goodbye
    lines: list[tuple[str, str]] = []
    for i in range(total):
        if i % 2:
            lines.append(("caller", caller[i // 2][0]))
            continue
        reply = caller[i // 2 - 1][1] if i >= 2 else None
        if i == 0:
            text = rnd.choice(AGENT_OPEN)
        elif i == 2:
            text = rnd.choice(AGENT_DEBT)
        elif i >= total - 2:
            text = rnd.choice(AGENT_CLOSE)
        elif reply in AGENT_REPLY:
            text = rnd.choice(AGENT_REPLY[reply])
        else:
            text = rnd.choice(AGENT_MIDDLE)
        lines.append(("agent", _fill(text, facts)))
    recorded = result if with_facts and rnd.random() < 0.7 else None  # the agent's tool did not always run
    promise = None
    if with_facts and recorded == "promise" and rnd.random() < registered_share:
        promise = (call_day + timedelta(days=rnd.randrange(1, 30)), Decimal(rnd.randrange(10, 200) * 1000))
    return Transcript(scenario, tuple(lines), recorded, promise)


def analysis_input(t: Transcript, call_at: datetime, delinquency_type: str = "temprana") -> AnalysisInput:
    promise = None if t.promise is None else RegisteredPromise(*t.promise)
    facts = CallFacts(call_at=call_at, result=t.result, promise=promise, delinquency_type=delinquency_type)
    return AnalysisInput(facts, tuple(Utterance(s, text, i * 3000) for i, (s, text) in enumerate(t.lines)))


# ---------------------------------------------------------------- figures
def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


# ---------------------------------------------------------------- 1. rules in-process
def bench_rules(n: int, seed: int) -> None:
    rnd = random.Random(seed)
    analyzer = RuleAnalyzer(load_classification())
    call_at = datetime.now(SANTIAGO)
    # Half the calls carry only words (the rules read everything), half the agent's recorded facts too.
    transcripts = [make_transcript(rnd, call_at.date(), with_facts=i % 2 == 0) for i in range(n)]
    inputs = [analysis_input(t, call_at, rnd.choice(("temprana", "tardia", "prejudicial"))) for t in transcripts]
    start = time.perf_counter()
    analyzer.analyze(inputs[0])
    first = time.perf_counter() - start
    for inp in inputs[1:50]:  # warm-up: the regexes' caches
        analyzer.analyze(inp)
    times: list[float] = []
    results: list[CallAnalysis] = []
    wall = time.perf_counter()
    for inp in inputs:
        t0 = time.perf_counter()
        results.append(analyzer.analyze(inp))
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall
    lines = [len(t.lines) for t in transcripts]
    caller = [sum(s == "caller" for s, _ in t.lines) for t in transcripts]
    print("\n== 1. rule analysis in-process (RuleAnalyzer, bundled classification), one thread ==")
    print(f"{n} transcripts of {min(lines)}-{max(lines)} lines (mean {statistics.mean(lines):.1f}, "
          f"{statistics.mean(caller):.1f} caller lines); half with the agent's recorded result/promise")
    print(f"ms per call: median {ms(statistics.median(times))}, p95 {ms(pct(times, 95))}, "
          f"p99 {ms(pct(times, 99))}, max {ms(max(times))}  (first call, cold: {ms(first)} ms)")
    per_line = [t / max(c, 1) for t, c in zip(times, caller, strict=True)]
    print(f"ms per caller line: median {ms(statistics.median(per_line))}; "
          f"throughput {n / wall:,.0f} calls/s on one thread")
    actions = Counter(r.next_action.value for r in results)
    print("next_action: " + ", ".join(f"{k} {v}" for k, v in actions.most_common())
          + f"; needs_human {sum(r.needs_human for r in results)}; promise read "
          f"{sum(r.promise is not None for r in results)}")
    words_only = [(t, r) for t, r in zip(transcripts, results, strict=True) if t.result is None and t.promise is None]
    promised = [r for t, r in words_only if t.scenario == "promise"]
    asked = [r for t, r in words_only if t.scenario == "asks_for_person"]
    print(f"sanity, words only: promise scenarios with a promise read {sum(r.promise is not None for r in promised)}"
          f"/{len(promised)}; 'asks for a person' with needs_human {sum(r.needs_human for r in asked)}/{len(asked)}")


# ---------------------------------------------------------------- 2. the worker on PostgreSQL
class TimedStore(AnalysisStore):
    """The store, timing each claim (with its inputs' load) and each save (with its webhooks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claims: list[float] = []
        self.saves: list[float] = []

    async def claim(self, limit: int = 4) -> list[Any]:
        t0 = time.perf_counter()
        jobs = await super().claim(limit)
        self.claims.append(time.perf_counter() - t0)
        return jobs

    async def save(self, *args: Any, **kwargs: Any) -> list[str]:
        t0 = time.perf_counter()
        events = await super().save(*args, **kwargs)
        self.saves.append(time.perf_counter() - t0)
        return events


class TimedRules:
    """Wraps the worker's RuleAnalyzer to time `analyze` in its thread."""

    def __init__(self, rules: RuleAnalyzer) -> None:
        self._rules = rules
        self.times: list[float] = []

    def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        t0 = time.perf_counter()
        result = self._rules.analyze(inp)
        self.times.append(time.perf_counter() - t0)
        return result


async def _seed_debtors(pool: Any, n: int, prefix: str) -> tuple[int, list[tuple[int, int, str, str]]]:
    """A company, a campaign, `n` debtors with one phone each: (campaign id, [(debtor, phone, e164, type)])."""
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("INSERT INTO companies (name) VALUES (%s) RETURNING id", (f"{prefix} Cobranzas",))
        (company_id,) = await cur.fetchone()
        cur = await conn.execute("INSERT INTO campaigns (company_id, name, status) VALUES (%s, %s, 'active') "
                                 "RETURNING id", (company_id, f"{prefix} temprana"))
        (campaign_id,) = await cur.fetchone()
        await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, delinquency_type, amount_owed, due_date)
               SELECT %s, (10000000 + g) || '-' || (g %% 10), 'Deudor ' || g,
                      (ARRAY['temprana', 'tardia', 'prejudicial'])[1 + g %% 3], 1000 * (30 + g %% 870),
                      current_date - (g %% 120)
                 FROM generate_series(1, %s) g""", (company_id, n))
        await conn.execute(
            """INSERT INTO phones (debtor_id, e164)
               SELECT id, '+5699' || lpad(id::text, 7, '0') FROM debtors WHERE company_id = %s""", (company_id,))
        cur = await conn.execute(
            """SELECT d.id, p.id, p.e164, d.delinquency_type FROM debtors d JOIN phones p ON p.debtor_id = d.id
                WHERE d.company_id = %s ORDER BY d.id""", (company_id,))
        return campaign_id, list(await cur.fetchall())


async def _vacuum(url: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("VACUUM ANALYZE")


async def explain_claim(pool: Any, batch: int, when: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one claim's two statements, rolled back."""
    print(f"  -- EXPLAIN (ANALYZE, BUFFERS) of AnalysisStore.claim's statements, {batch} at a time, {when} "
          "(rolled back) --")
    async with pool.connection() as conn, conn.transaction(force_rollback=True):
        for label, query, params in (
                ("analyses._GIVE_UP", _ANALYSIS_GIVE_UP, {"max_tries": 5}),
                ("analyses._CLAIM", _ANALYSIS_CLAIM, {"limit": batch, "lease_s": 300.0, "max_tries": 5})):
            cur = await conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query, params)
            print(f"  [{label}]")
            for (line,) in await cur.fetchall():
                print("     " + line)


async def bench_worker(url: str, n: int, batch_sizes: Sequence[int], seed: int, seed_concurrency: int,
                       explain: bool) -> bool:
    rnd = random.Random(seed)
    ok = True
    async with open_database(url) as pool:
        campaign_id, debtors = await _seed_debtors(pool, n, "Bench worker")
        log = CallLog(pool)
        today = datetime.now(SANTIAGO).date()
        calls = [(debtors[i], make_transcript(rnd, today)) for i in range(n)]
        gate = asyncio.Semaphore(seed_concurrency)

        async def one(debtor: tuple[int, int, str, str], t: Transcript) -> None:
            debtor_id, phone_id, e164, _ = debtor
            attempt = uuid.uuid4()
            async with gate:
                await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND,
                                       channel_id=f"bench-{attempt}", remote_number=e164, campaign_id=campaign_id,
                                       debtor_id=debtor_id, phone_id=phone_id)
                await log.mark_answered(attempt)
                async with pool.connection() as conn, conn.transaction():
                    async with conn.cursor() as cur:
                        await cur.executemany(
                            """INSERT INTO call_lines (attempt_id, speaker, text, start_ms, end_ms, source)
                               VALUES (%s, %s, %s, %s, %s, %s)""",
                            [(attempt, s, text, i * 3000, i * 3000 + 2500, "stt" if s == "caller" else "tts")
                             for i, (s, text) in enumerate(t.lines)])
                    if t.result:
                        await conn.execute("UPDATE call_attempts SET result = %s WHERE id = %s", (t.result, attempt))
                    if t.promise:
                        await conn.execute(
                            """INSERT INTO promises (attempt_id, debtor_id, campaign_id, promised_date, amount)
                               VALUES (%s, %s, %s, %s, %s)""", (attempt, debtor_id, campaign_id, *t.promise))
                await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16,
                                        hangup_cause_txt="Normal Clearing")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(d, t) for d, t in calls))
        seeded = time.perf_counter() - t0
        await _vacuum(url)
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM call_analyses WHERE status = 'pending'")
            (queued,) = await cur.fetchone()
        lines = sum(len(t.lines) for _, t in calls)
        print("\n== 2. analysis worker end to end on PostgreSQL (AnalysisWorker + AnalysisStore, rules) ==")
        print(f"seeded {n} answered calls through CallLog ({lines} call_lines, "
              f"{sum(t.promise is not None for _, t in calls)} registered promises) in {seeded:.1f} s "
              f"({n / seeded:.0f} calls/s, {seed_concurrency} at a time); {queued} analyses queued by close_attempt")
        scheme = load_classification()
        for batch in batch_sizes:
            if batch != batch_sizes[0]:  # run again over the same calls
                async with pool.connection() as conn:
                    await conn.execute("UPDATE call_analyses SET status = 'pending', tries = 0, lease_until = NULL, "
                                       "analyzed_at = NULL")
                await _vacuum(url)
            if explain:
                await explain_claim(pool, batch, "the whole backlog queued")
            store = TimedStore(pool)
            async with AnalysisWorker(store, scheme, batch_size=batch) as worker:
                rules = TimedRules(worker.rules)
                worker.rules = rules  # type: ignore[assignment]
                rounds, paused, halfway = 0, 0.0, math.ceil(n / batch) // 2
                t0 = time.perf_counter()
                while await worker.run_once():
                    rounds += 1
                    if explain and rounds == halfway:  # off the clock
                        t_pause = time.perf_counter()
                        await explain_claim(pool, batch, f"halfway through the drain ({rounds} rounds done)")
                        paused += time.perf_counter() - t_pause
                elapsed = time.perf_counter() - t0 - paused
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT status, count(*) FROM call_analyses GROUP BY 1 ORDER BY 1")
                statuses = dict(await cur.fetchall())
                cur = await conn.execute(
                    """SELECT count(*) FILTER (WHERE analyzer = 'rules' AND result->>'transcript_source' = 'call_lines'),
                              count(*) FILTER (WHERE needs_human), count(*) FILTER (WHERE promise_date IS NOT NULL)
                         FROM call_analyses WHERE status = 'done'""")
                by_rules, human, promises = await cur.fetchone()
                cur = await conn.execute("SELECT event, count(*) FROM webhook_outbox WHERE event IN "
                                         "('call_analyzed', 'sentiment_alert') GROUP BY 1 ORDER BY 1")
                events = dict(await cur.fetchall())
            done = statuses.get("done", 0)
            good = done == n and statuses == {"done": n} and by_rules == n
            ok = ok and good
            print(f"worker batch_size {batch}: {done} calls in {elapsed:.2f} s = {done / elapsed:.0f} calls analysed/s "
                  f"({rounds} run_once rounds)")
            print(f"  per claim (lease + load inputs of {batch}): median {ms(statistics.median(store.claims))} ms, "
                  f"p95 {ms(pct(store.claims, 95))} ms; per save (document + webhooks): median "
                  f"{ms(statistics.median(store.saves))} ms, p95 {ms(pct(store.saves, 95))} ms; "
                  f"rules per call in the worker's thread: median {ms(statistics.median(rules.times))} ms")
            k = len(store.claims)
            quarters = [store.claims[i * k // 4:(i + 1) * k // 4] for i in range(4)]
            print("  claim median by quarter of the drain (first to last): "
                  + ", ".join(f"{ms(statistics.median(q))}" for q in quarters if q) + " ms")
            print(f"  check: {'ok' if good else 'FAIL'} — statuses {statuses}, read from call_lines by the rules "
                  f"{by_rules}/{n}; needs_human {human}, promise {promises}; outbox so far {events}")
    return ok


# ---------------------------------------------------------------- 3. the operator API
OUTCOMES = (("answered", 36), ("no_answer", 30), ("busy", 9), ("voicemail", 12), ("failed", 5), ("congestion", 2),
            ("invalid_number", 3), ("silent", 3))
CAUSES = {"answered": (16, "Normal Clearing"), "no_answer": (19, "No answer"), "busy": (17, "User busy"),
          "voicemail": (16, "Normal Clearing"), "failed": (38, "Network out of order"),
          "congestion": (34, "Circuit/channel congestion"), "invalid_number": (1, "Unallocated number"),
          "silent": (16, "Normal Clearing")}


def _copy(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_api(url: str, m: int, days: float, seed: int, analysed_share: float) -> dict[str, Any]:
    """M calls over the last `days` days, bulk-loaded; what the API bench needs to know of them."""
    rnd = random.Random(seed)
    analyzer = RuleAnalyzer(load_classification())
    now = datetime.now().astimezone()
    debtors_n = max(1, m // 2)
    with psycopg.connect(url, autocommit=True) as conn:
        (company_id,) = conn.execute("INSERT INTO companies (name) VALUES ('Bench API Cobranzas') RETURNING id").fetchone()
        campaign_ids = [conn.execute("INSERT INTO campaigns (company_id, name, status) VALUES (%s, %s, 'active') "
                                     "RETURNING id", (company_id, f"Bench API {kind}")).fetchone()[0]
                        for kind in ("temprana", "tardia", "prejudicial")]
        conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, delinquency_type, amount_owed, due_date)
               SELECT %s, (10000000 + g) || '-' || (g %% 10), 'Deudor ' || g,
                      (ARRAY['temprana', 'tardia', 'prejudicial'])[1 + g %% 3], 1000 * (30 + g %% 870),
                      current_date - (g %% 120)
                 FROM generate_series(1, %s) g""", (company_id, debtors_n))
        conn.execute("INSERT INTO phones (debtor_id, e164) SELECT id, '+5699' || lpad(id::text, 7, '0') FROM debtors")
        debtors = conn.execute("""SELECT d.id, p.id, p.e164, d.delinquency_type FROM debtors d
                                    JOIN phones p ON p.debtor_id = d.id ORDER BY d.id""").fetchall()
        # One wave per campaign and day (09:00 Santiago, roughly), its jobs one per call placed that day.
        first_day = (now - timedelta(days=days)).date()
        wave_ids: dict[tuple[int, date], int] = {}
        day = first_day
        while day <= now.date():
            for c in campaign_ids:
                planned = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(hours=9)
                wave_ids[(c, day)] = conn.execute(
                    "INSERT INTO waves (campaign_id, local_date, slot, planned_at, enqueued) VALUES (%s, %s, '09:00', "
                    "%s, 0) RETURNING id", (c, day, min(planned, now - timedelta(minutes=30)))).fetchone()[0]
            day += timedelta(days=1)
        (job_base,) = conn.execute("SELECT coalesce(max(id), 0) FROM call_jobs").fetchone()

        attempts, jobs, lines, turns, promises, analyses = [], [], [], [], [], []
        answered_ids: list[uuid.UUID] = []
        outcome_names = [o for o, _ in OUTCOMES]
        outcome_weights = [w for _, w in OUTCOMES]
        span = days * 86400
        for i in range(m):
            debtor_id, phone_id, e164, kind = debtors[i % debtors_n]
            campaign_id = campaign_ids[debtor_id % 3]
            created = now - timedelta(seconds=rnd.random() * span + 120)
            outcome = rnd.choices(outcome_names, weights=outcome_weights)[0]
            attempt = uuid.uuid4()
            job_id = job_base + i + 1
            wave = wave_ids.get((campaign_id, created.date()))
            jobs.append((job_id, campaign_id, debtor_id, "done", created, 1, phone_id, "trunk", wave, outcome))
            cause, cause_txt = CAUSES[outcome]
            answered_at = ended_at = None
            result = cost = recording = recording_ms = None
            usage: dict[str, Any] = {}
            if outcome in ("answered", "voicemail", "silent"):
                answered_at = created + timedelta(seconds=rnd.uniform(4, 25))
                talk = rnd.uniform(20, 300) if outcome == "answered" else rnd.uniform(5, 40)
                ended_at = answered_at + timedelta(seconds=talk)
                cost = Decimal(f"{talk * 0.9 + rnd.uniform(2, 20):.4f}")
                recording, recording_ms = f"{answered_at:%Y/%m/%d}/{attempt}.wav", int(talk * 1000)
                usage = {"answered_s": round(talk, 1), "stt_audio_s": round(talk * 0.45, 1),
                         "tts_chars": int(talk * 9), "llm_requests": int(talk / 12), "llm_tokens": int(talk * 40)}
            else:
                ended_at = created + timedelta(seconds=rnd.uniform(3, 45))
            if outcome == "answered":
                t = make_transcript(rnd, answered_at.astimezone(SANTIAGO).date())
                result = t.result
                answered_ids.append(attempt)
                caller_i = 0
                for j, (speaker, text) in enumerate(t.lines):
                    start = j * 3500 + rnd.randrange(0, 800)
                    lines.append((attempt, speaker, text, start, start + 2500, "stt" if speaker == "caller" else "tts",
                                  False))
                    if speaker == "caller":
                        agent = t.lines[j + 1][1] if j + 1 < len(t.lines) else ""
                        v2v = rnd.gauss(650, 120)
                        turns.append((attempt, caller_i, text, round(rnd.uniform(0.6, 0.98), 3), v2v - 60,
                                      v2v - 40, v2v - 25, v2v, v2v, agent, agent, False, "vad",
                                      answered_at + timedelta(milliseconds=start + 2500)))
                        caller_i += 1
                if t.promise is not None:
                    promise_date, amount = t.promise
                elif result == "promise":  # the agent's tool stores the promise with the result
                    promise_date = answered_at.date() + timedelta(days=rnd.randrange(1, 30))
                    amount = Decimal(rnd.randrange(10, 200) * 1000)
                else:
                    promise_date = None
                if promise_date is not None:
                    promises.append((attempt, debtor_id, campaign_id, job_id, promise_date, amount, created))
                if rnd.random() < analysed_share:  # the rest still queued: the worker is behind
                    a = analyzer.analyze(analysis_input(t, answered_at.astimezone(SANTIAGO), kind))
                    doc = {**a.as_document(), "transcript_source": "call_lines"}
                    pr = doc.get("promise")
                    analyses.append((attempt, "done", 1, a.analyzer, a.summary, doc["sentiment"],
                                     doc["sentiment_trend"], doc["interest_level"], doc["next_action"],
                                     pr and pr["date"], pr and pr.get("amount"), a.needs_human, a.priority,
                                     Jsonb(doc["classification"]), Jsonb(doc), ended_at, ended_at + timedelta(seconds=3)))
                else:
                    analyses.append((attempt, "pending", 0, "", "", None, None, None, None, None, None, False, 0,
                                     Jsonb({}), Jsonb({}), ended_at, None))
            attempts.append((attempt, "outbound", job_id, campaign_id, debtor_id, phone_id, f"bench-{attempt}", e164,
                             "ended", outcome, cause, cause_txt, "ANSWER" if answered_at else "NOANSWER",
                             created, answered_at, ended_at, result, recording, recording_ms, Jsonb(usage), cost,
                             Jsonb({"currency": "CLP"} if cost is not None else {})))
        # A few calls up now.
        live = []
        for k in range(6):
            debtor_id, phone_id, e164, _ = debtors[k]
            created = now - timedelta(seconds=30 + 20 * k)
            live.append((uuid.uuid4(), "outbound", None, campaign_ids[debtor_id % 3], debtor_id, phone_id,
                         f"bench-live-{k}", e164, "answered" if k % 2 else "dialing", None, None, None, None,
                         created, created + timedelta(seconds=6) if k % 2 else None, None, None, None, None,
                         Jsonb({}), None, Jsonb({})))

        t0 = time.perf_counter()
        # call_jobs.id is GENERATED ALWAYS: COPY cannot set it, so load through a staging table.
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE jobs_in (LIKE call_jobs INCLUDING DEFAULTS) ON COMMIT DROP")
            _copy(conn, "jobs_in", ("id", "campaign_id", "debtor_id", "state", "next_at", "attempts", "last_phone_id",
                                    "trunk", "wave_id", "last_outcome"), jobs)
            conn.execute("INSERT INTO call_jobs OVERRIDING SYSTEM VALUE SELECT * FROM jobs_in")
            conn.execute("SELECT setval(pg_get_serial_sequence('call_jobs', 'id'), (SELECT max(id) FROM call_jobs))")
            conn.execute("""UPDATE waves w SET enqueued = j.n FROM (SELECT wave_id, count(*) n FROM call_jobs
                             GROUP BY 1) j WHERE j.wave_id = w.id""")
            columns = ("id", "direction", "job_id", "campaign_id", "debtor_id", "phone_id", "channel_id",
                       "remote_number", "state", "outcome", "hangup_cause", "hangup_cause_txt", "dial_status",
                       "created_at", "answered_at", "ended_at", "result", "recording_path", "recording_ms", "usage",
                       "cost", "cost_detail")
            _copy(conn, "call_attempts", columns, attempts + live)
            _copy(conn, "call_lines", ("attempt_id", "speaker", "text", "start_ms", "end_ms", "source", "interrupted"),
                  lines)
            _copy(conn, "call_turns", ("attempt_id", "idx", "user_text", "confidence", "stt_final_ms",
                                       "agent_first_output_ms", "tts_first_audio_ms", "first_rtp_out_ms",
                                       "voice_to_voice_ms", "agent_planned", "agent_spoken", "interrupted",
                                       "turn_rule", "created_at"), turns)
            _copy(conn, "promises", ("attempt_id", "debtor_id", "campaign_id", "job_id", "promised_date", "amount",
                                     "created_at"), promises)
            _copy(conn, "call_analyses", ("attempt_id", "status", "tries", "analyzer", "summary", "sentiment",
                                          "sentiment_trend", "interest_level", "next_action", "promise_date",
                                          "promise_amount", "needs_human", "priority", "classification", "result",
                                          "created_at", "analyzed_at"), analyses)
        conn.execute("VACUUM ANALYZE")
        loaded = time.perf_counter() - t0
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("call_attempts", "call_lines", "call_turns", "promises", "call_analyses", "call_jobs",
                            "waves")}
    return {"answered_ids": answered_ids, "counts": counts, "loaded_s": loaded,
            "in_24h": sum(1 for a in attempts if a[13] >= now - timedelta(hours=24))}


async def _timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, int, bytes]:
    t0 = time.perf_counter()
    async with session.get(url) as resp:
        body = await resp.read()
    return time.perf_counter() - t0, resp.status, body


class LoopStall:
    """The longest the event loop went without running a 5 ms timer, over a window.

    The app serves this API from the event loop that also paces the calls' RTP every 20 ms
    (`media.pacer`): a handler's synchronous work (rows decoded, JSON or CSV built) is a gap in every
    live call's audio. Here server and client share the loop; the client's part is reading bytes.
    """

    def __init__(self) -> None:
        self._worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t0 = loop.time()
            await asyncio.sleep(0.005)
            self._worst = max(self._worst, loop.time() - t0 - 0.005)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def take(self) -> float:
        """The worst stall since the last take."""
        worst, self._worst = self._worst, 0.0
        return worst


STALL = LoopStall()


async def _sequential(session: aiohttp.ClientSession, base: str, label: str, path: Callable[[], str],
                      n: int) -> bool:
    """`n` requests one after the other (after 5 to warm up); prints one row; True if all were 200."""
    for _ in range(5):  # connections, plans, caches
        await _timed_get(session, base + path())
    times, statuses, sizes = [], Counter[int](), []
    STALL.take()
    for _ in range(n):
        elapsed, status, body = await _timed_get(session, base + path())
        times.append(elapsed)
        statuses[status] += 1
        sizes.append(len(body))
    print(f"{label:<44}{ms(statistics.median(times)):>10}{ms(pct(times, 95)):>9}{ms(max(times)):>9}"
          f"{statistics.mean(sizes) / 1024:>8.1f}{ms(STALL.take()):>10}  "
          + " ".join(f"{s}x{k}" for s, k in statuses.items()), flush=True)
    return set(statuses) == {200}


async def _export(session: aiohttp.ClientSession, base: str, runs: int) -> bool:
    times, ok, body = [], True, b""
    STALL.take()
    for _ in range(runs):
        elapsed, status, body = await _timed_get(session, f"{base}/api/v1/export/calls?format=csv")
        times.append(elapsed)
        ok = ok and status == 200
    stall = STALL.take()
    rows = sum(1 for _ in csv.reader(io.StringIO(body.decode()))) - 1
    print(f"GET /api/v1/export/calls?format=csv (all rows): {rows} rows, {len(body) / 1e6:.2f} MB; "
          f"median {ms(statistics.median(times))} ms of {runs} (min {ms(min(times))}, max {ms(max(times))}) "
          f"= {rows / statistics.median(times):,.0f} rows/s; longest event-loop stall {ms(stall)} ms", flush=True)
    return ok


async def _concurrent(session: aiohttp.ClientSession, base: str, label: str, path: Callable[[], str], total: int,
                      concurrency: int) -> bool:
    paths = iter([path() for _ in range(total)])
    lat: list[float] = []
    codes: Counter[int] = Counter()

    async def client() -> None:
        for p in paths:
            elapsed, status, _ = await _timed_get(session, base + p)
            lat.append(elapsed)
            codes[status] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    print(f"  {label:<42}{len(lat) / wall:>8.0f} requests/s; latency median {ms(statistics.median(lat))} ms, "
          f"p95 {ms(pct(lat, 95))} ms; " + " ".join(f"{s}x{n}" for s, n in codes.items()), flush=True)
    return set(codes) == {200}


async def bench_api(url: str, m: int, days: float, requests: int, export_runs: int, concurrency: int,
                    seed: int, explain: bool, what_if: bool) -> bool:
    async with open_database(url, max_size=1):  # the schema
        pass
    t0 = time.perf_counter()
    seeded = seed_api(url, m, days, seed, analysed_share=0.9)
    prep = time.perf_counter() - t0
    print(f"\n== 3. operator API served for real (aiohttp on 127.0.0.1, port 0, bearer token), "
          f"{requests} sequential requests per endpoint ==")
    print(f"{m} calls over the last {days:g} days ({seeded['in_24h']} in the last 24 h) + 6 live; rows: "
          + ", ".join(f"{k} {v}" for k, v in seeded["counts"].items())
          + f"; generated and loaded in {prep:.1f} s (COPY + VACUUM ANALYZE {seeded['loaded_s']:.1f} s)")
    ok = True
    rnd = random.Random(seed + 1)
    ids = seeded["answered_ids"]
    endpoints: dict[str, Callable[[], str]] = {
        "GET /api/v1/calls?limit=50": lambda: "/api/v1/calls?limit=50",
        "GET /api/v1/calls?outcome=answered&limit=50": lambda: "/api/v1/calls?outcome=answered&limit=50",
        "GET /api/v1/calls/{id}": lambda: f"/api/v1/calls/{rnd.choice(ids)}",
        "GET /api/v1/calls/{id}/transcript": lambda: f"/api/v1/calls/{rnd.choice(ids)}/transcript",
        "GET /api/v1/metrics/summary?hours=24": lambda: "/api/v1/metrics/summary?hours=24",
        "GET /metrics": lambda: "/metrics",
        "GET /api/v1/live": lambda: "/api/v1/live",
        "GET /api/v1/followups": lambda: "/api/v1/followups",
    }
    header = f"{'endpoint':<44}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}{'KiB':>8}{'stall ms':>10}  status"
    async with open_database(url) as pool, WebhookDelivery(pool, timeout_s=2.0) as delivery:
        with TemporaryDirectory() as recordings:
            services = ApiServices(pool=pool, webhook_delivery=delivery, recordings=LocalRecordingStore(Path(recordings)),
                                   ari_connected=lambda: True, currency="CLP")
            async with OperatorApi(services, tokens=[TOKEN], host="127.0.0.1", port=0) as server, \
                    aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
                base = server.url
                STALL.start()
                print("(stall ms: the event loop's longest stall during the requests; the app paces live calls' "
                      "RTP on that loop every 20 ms)")
                print(header)
                for label, path in endpoints.items():
                    ok = await _sequential(session, base, label, path, requests) and ok
                ok = await _export(session, base, export_runs) and ok
                print(f"{concurrency} concurrent clients, {requests * 2} requests per endpoint (the app's pool: "
                      f"max_size 10; one server process):")
                for label in ("GET /api/v1/calls?limit=50", "GET /api/v1/calls/{id}", "GET /metrics"):
                    ok = await _concurrent(session, base, label, endpoints[label], requests * 2, concurrency) and ok
                if explain:
                    await explain_queries(pool, ids[0])
                if what_if:
                    print(f"\n-- what if: the same reads with {len(WHAT_IF_INDEXES)} indexes added "
                          "(in this scratch database only) --")
                    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                        for index in WHAT_IF_INDEXES:
                            await conn.execute(index)
                            print("   " + index)
                        await conn.execute("VACUUM ANALYZE")
                    print(header)
                    for label in ("GET /api/v1/calls?limit=50", "GET /api/v1/calls/{id}",
                                  "GET /api/v1/metrics/summary?hours=24", "GET /metrics", "GET /api/v1/live"):
                        ok = await _sequential(session, base, label, endpoints[label], requests) and ok
                    ok = await _export(session, base, export_runs) and ok
                    if explain:
                        await explain_queries(pool, ids[0], only=("calls list", "export", "metrics", "live"))
                STALL.stop()
    return ok


WHAT_IF_INDEXES = ("CREATE INDEX bench_call_jobs_wave_idx ON call_jobs (wave_id)",)

# The queries behind the slow reads, as campaigns/supervision.py and campaigns/analyses.py run them
# (the list with no filter: every parameter NULL).
_NO_FILTER = {"campaign_id": None, "outcome": None, "direction": None, "since": None, "until": None,
              "limit": 50, "offset": 0}
EXPLAINS: dict[str, tuple[str, dict[str, Any]]] = {
    "calls list (Supervision.calls, no filter, limit 50)": (
        f"SELECT {_CALL_COLUMNS} {_CALL_FROM} {_CALL_WHERE} ORDER BY a.created_at DESC, a.id DESC "
        + "LIMIT %(limit)s OFFSET %(offset)s", _NO_FILTER),
    "export rows (Supervision.export_batches, no filter, limit 100000)": (
        EXPORT_QUERY, {**_NO_FILTER, "limit": 100_000}),
    "call detail's promise (Supervision.call)": (
        """SELECT promised_date AS date, amount::float8 AS amount, installments, status
             FROM promises WHERE attempt_id = %(id)s ORDER BY id DESC LIMIT 1""", {}),
    "summary totals (Supervision.summary, 24 h)": (
        """SELECT count(*) AS calls, count(*) FILTER (WHERE outcome = 'answered') AS answered,
                  coalesce(sum(cost), 0) AS cost_total,
                  (SELECT count(*) FROM promises p JOIN call_attempts pa ON pa.id = p.attempt_id
                    WHERE pa.created_at >= %(since)s) AS promises,
                  (SELECT avg(t.voice_to_voice_ms) FROM call_turns t JOIN call_attempts ta
                       ON ta.id = t.attempt_id
                    WHERE ta.created_at >= %(since)s AND NOT t.interrupted) AS avg_v2v
             FROM call_attempts WHERE created_at >= %(since)s""", {"since": "24h"}),
    "metrics: calls by direction and outcome (Supervision.snapshot)": (
        """SELECT direction, coalesce(outcome, 'in_progress'), count(*) FROM call_attempts GROUP BY 1, 2""", {}),
    "metrics: last hour's voice-to-voice (Supervision.snapshot)": (
        """SELECT avg(voice_to_voice_ms) FROM call_turns
            WHERE created_at > now() - interval '1 hour' AND NOT interrupted""", {}),
    "live: waves of the last 24 h (Supervision.waves)": (
        """SELECT w.id, w.campaign_id, c.name AS campaign, w.slot, w.local_date AS day, w.planned_at,
                  count(j.id) AS total,
                  count(j.id) FILTER (WHERE j.state IN ('done', 'failed', 'cancelled')) AS done,
                  count(j.id) FILTER (WHERE j.state = 'queued') AS queued,
                  count(j.id) FILTER (WHERE j.state = 'claimed') AS in_progress,
                  (SELECT count(DISTINCT a.debtor_id) FROM call_attempts a
                    WHERE a.job_id = ANY (array_agg(j.id)) AND a.outcome = 'answered') AS contacts,
                  (SELECT count(*) FROM promises p WHERE p.job_id = ANY (array_agg(j.id))) AS promises
             FROM waves w
             JOIN campaigns c ON c.id = w.campaign_id
             LEFT JOIN call_jobs j ON j.wave_id = w.id
            WHERE w.planned_at >= %(since)s
            GROUP BY w.id, c.name ORDER BY w.planned_at DESC LIMIT 20""", {"since": "24h"}),
    "worker's inputs of 4 calls (analyses._CALLS)": (_ANALYSIS_CALLS, {"ids": "4 answered"}),
    "worker's give-up sweep before each claim (analyses._GIVE_UP; rolled back)": (_ANALYSIS_GIVE_UP, {"max_tries": 5}),
}


async def explain_queries(pool: Any, attempt_id: uuid.UUID, only: Sequence[str] = ()) -> None:
    print("\n-- EXPLAIN (ANALYZE) of the queries behind those reads --")
    since = datetime.now().astimezone() - timedelta(hours=24)
    async with pool.connection() as conn, conn.transaction(force_rollback=True):  # _GIVE_UP is an UPDATE
        cur = await conn.execute("SELECT id FROM call_attempts WHERE outcome = 'answered' LIMIT 4")
        four = [r[0] for r in await cur.fetchall()]
        for label, (query, params) in EXPLAINS.items():
            if only and not any(label.startswith(o) for o in only):
                continue
            values = {**params, "id": attempt_id}
            values.update({k: since for k, v in params.items() if v == "24h"})
            values.update({k: four for k, v in params.items() if v == "4 answered"})
            positional = (four,) if "%s" in query else None  # analyses._CALLS: WHERE a.id = ANY(%s)
            cur = await conn.execute("EXPLAIN (ANALYZE, COSTS OFF) " + query, positional or values)
            print(f"[{label}]")
            for (line,) in await cur.fetchall():
                print("   " + line)


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transcripts", type=int, default=3000, help="part 1: transcripts analysed in-process")
    parser.add_argument("--worker-calls", type=int, default=2000, help="part 2: answered calls the worker analyses")
    parser.add_argument("--worker-batches", default="4,10",
                        help="part 2: comma-separated batch sizes (4 is the app's); each re-runs over the same calls")
    parser.add_argument("--seed-concurrency", type=int, default=8, help="part 2: calls written through CallLog at once")
    parser.add_argument("--api-calls", type=int, default=20_000, help="part 3: calls in the database")
    parser.add_argument("--days", type=float, default=7.0, help="part 3: the calls are spread over this many days")
    parser.add_argument("--requests", type=int, default=100, help="part 3: sequential requests per endpoint")
    parser.add_argument("--export-runs", type=int, default=3, help="part 3: times the full CSV export is fetched")
    parser.add_argument("--concurrency", type=int, default=8, help="part 3: concurrent clients for requests/s")
    parser.add_argument("--explain", action="store_true",
                        help="parts 2 and 3: EXPLAIN ANALYZE the worker's claim and the queries behind the reads")
    parser.add_argument("--what-if-indexes", action="store_true",
                        help="part 3, at the end: add the indexes the slow reads lack (promises by attempt and "
                             "by job, call_attempts and call_turns by created_at, call_jobs by wave) in the "
                             "scratch database and time those reads again")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    started = time.perf_counter()
    ok = True
    print(f"after the call: rules {args.transcripts} transcripts; worker {args.worker_calls} calls; "
          f"API {args.api_calls} calls; started {datetime.now():%Y-%m-%d %H:%M:%S}")
    if 1 in parts:
        bench_rules(args.transcripts, args.seed)
    base = Settings().database_url.get_secret_value()
    if 2 in parts:
        with scratch_database(base, "bench_analysis") as url:
            ok = asyncio.run(bench_worker(url, args.worker_calls, [int(b) for b in args.worker_batches.split(",")],
                                          args.seed, args.seed_concurrency, args.explain)) and ok
    if 3 in parts:
        with scratch_database(base, "bench_api") as url:
            ok = asyncio.run(bench_api(url, args.api_calls, args.days, args.requests, args.export_runs,
                                       args.concurrency, args.seed, args.explain, args.what_if_indexes)) and ok
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if not ok:
        raise SystemExit("a check failed (see the rows marked FAIL or a non-200 status)")


if __name__ == "__main__":
    main()
