"""The LLM analyzer: a call's analysis from any OpenAI-compatible endpoint, as structured output.

One non-streaming chat completion with `response_format` = the JSON Schema built from the document
and the classification enums. The reply is validated by `parse_analysis` whatever the endpoint
claims to enforce (many OpenAI-compatible servers ignore `strict`). An invalid reply is retried,
up to `tries` requests in all, with the problems quoted back to the model; when the endpoint fails
(HTTP error, refused connection, timeout) or the tries run out, the rule analyzer answers instead
and the document says so (`analyzer` 'rules', `fallback_reason`). A call is always analysed.

Client conventions as in `agent.llm.ChatLlm`: the `openai.AsyncOpenAI` client is owned here and
closed by `aclose`; no SDK retries (the retries that matter are the ones that tell the model what
was wrong); every endpoint failure is one `LlmError`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Executor
from dataclasses import replace
from typing import Self

import openai

from agent.llm import LlmError
from analysis.inputs import AnalysisInput
from analysis.rules import RuleAnalyzer
from analysis.schema import AnalysisInvalid, CallAnalysis, Promise, analysis_json_schema, parse_analysis
from analysis.summary import money, spoken_date

__all__ = ["LlmAnalyzer", "build_messages"]

log = logging.getLogger(__name__)

_MAX_REASON = 500  # characters of a fallback reason kept in the document

SYSTEM_PROMPT = """\
Eres analista de calidad de un call center de cobranza (Chile, Argentina, Colombia). Lees la \
transcripción de una llamada ya terminada entre el agente virtual (A) y la persona que contestó (D) \
y respondes SOLO con un objeto JSON que cumple el esquema pedido.

Reglas:
- summary: una o dos oraciones en español: qué pasó y qué quedó pendiente.
- sentiment: el ánimo general de D. turn_sentiments: exactamente un valor por cada línea de D, en \
el mismo orden (las líneas D están numeradas).
- promise: solo si D se comprometió a pagar en una fecha concreta; date como AAAA-MM-DD, el día de \
la llamada o después (las fechas relativas se cuentan desde la fecha de la llamada); amount en pesos, \
o null si no dijo monto. Si no hubo promesa: null. Una promesa registrada por el agente es la promesa.
- needs_human: true si una persona debe revisar o llamar (pidió una persona, está molesto, disputa \
la deuda, dice que ya pagó, pide condiciones que el agente no puede dar). priority: 0 a 100, más \
alto es más urgente; 0 si no necesita a nadie.
- asked_for_human: D pidió hablar con una persona. frustrated: D se mostró molesto, enojado o \
frustrado.
- classification: exactamente un valor por categoría, elegido de su lista. Nunca inventes valores \
ni categorías y nunca uses null: si la llamada no lo dice, usa el valor indicado para ese caso.

Categorías de classification:
{categories}
"""

RETRY_PROMPT = """\
Tu respuesta no es válida:
{problems}
Responde de nuevo con el objeto JSON completo y corregido, sin texto fuera del JSON."""


def build_messages(inp: AnalysisInput, categories: str) -> list[dict[str, str]]:
    """The system prompt and the call: its facts, then the transcript with the caller's lines numbered."""
    f = inp.facts
    facts = [f"Fecha y hora de la llamada: {f.call_at.isoformat(timespec='minutes')}",
             f"Resultado registrado por el agente: {f.result or 'ninguno'}"]
    if f.promise is not None:
        facts.append(f"Promesa registrada: {money(f.promise.amount)} el {spoken_date(f.promise.date)} "
                     f"({f.promise.date.isoformat()})")
    if f.delinquency_type:
        facts.append(f"Tipo de mora: {f.delinquency_type}")
    if f.amount_owed is not None:
        facts.append(f"Monto adeudado: {money(f.amount_owed)}")
    lines, n = [], 0
    for line in inp.lines:
        if not line.text.strip():
            continue
        if line.speaker == "caller":
            n += 1
            lines.append(f"D{n}: {line.text.strip()}")
        else:
            lines.append(f"A: {line.text.strip()}")
    body = "\n".join(facts) + f"\n\nTranscripción ({n} líneas de D):\n" + ("\n".join(lines) or "(nadie habló)")
    return [{"role": "system", "content": SYSTEM_PROMPT.format(categories=categories)},
            {"role": "user", "content": body}]


class LlmAnalyzer:
    """`analyze` is async; its fallback runs the rule analyzer in `executor` (None: the loop's default)."""

    def __init__(self, *, base_url: str, api_key: str, model: str, rules: RuleAnalyzer,
                 executor: Executor | None = None, tries: int = 3, timeout_s: float = 60.0,
                 temperature: float = 0.0, max_tokens: int = 1500) -> None:
        if tries < 1:
            raise ValueError("tries must be at least 1")
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0,
                                          timeout=timeout_s)
        self.model = model
        self.scheme = rules.scheme
        self._rules = rules
        self._executor = executor
        self._tries = tries
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._response_format = {"type": "json_schema", "json_schema": {
            "name": "call_analysis", "strict": True, "schema": analysis_json_schema(self.scheme)}}

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.close()

    async def analyze(self, inp: AnalysisInput) -> CallAnalysis:
        messages: list[dict[str, str]] = build_messages(inp, self.scheme.describe())
        problems: list[str] = []
        for attempt in range(1, self._tries + 1):
            try:
                content = await self._complete(messages)
            except LlmError as exc:
                return await self._fallback(inp, f"endpoint failed: {exc}")
            try:
                analysis = parse_analysis(json.loads(content), self.scheme, caller_turns=len(inp.caller_lines),
                                          call_date=inp.facts.call_at.date())
            except AnalysisInvalid as exc:
                problems = exc.problems
            except ValueError as exc:  # not JSON at all
                problems = [f"the reply is not a JSON object: {exc}"]
            else:
                return self._with_facts(analysis, inp).with_analyzer(self.name)
            log.info("LLM analysis try %d/%d was invalid: %s", attempt, self._tries, "; ".join(problems))
            messages += [{"role": "assistant", "content": content},
                         {"role": "user", "content": RETRY_PROMPT.format(
                             problems="\n".join(f"- {p}" for p in problems))}]
        return await self._fallback(inp, f"invalid output after {self._tries} tries: {'; '.join(problems)}")

    async def _complete(self, messages: list[dict[str, str]]) -> str:
        try:
            response = await self._client.chat.completions.create(
                model=self.model, messages=messages, stream=False,  # type: ignore[arg-type]
                temperature=self._temperature, max_tokens=self._max_tokens,
                response_format=self._response_format,  # type: ignore[arg-type]
            )
        except openai.OpenAIError as exc:
            raise LlmError(f"{type(exc).__name__}: {exc}") from exc
        if not response.choices:
            return ""
        message = response.choices[0].message
        if getattr(message, "refusal", None):
            return json.dumps({"refusal": message.refusal})  # invalid: the retry asks again
        return message.content or ""

    @staticmethod
    def _with_facts(analysis: CallAnalysis, inp: AnalysisInput) -> CallAnalysis:
        """A promise the agent registered is the promise, whatever the model read in the words."""
        registered = inp.facts.promise
        if registered is None:
            return analysis
        return replace(analysis, promise=Promise(registered.date, registered.amount, "registered"))

    async def _fallback(self, inp: AnalysisInput, reason: str) -> CallAnalysis:
        log.warning("LLM analysis fell back to the rules: %s", reason)
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(self._executor, self._rules.analyze, inp)
        return analysis.with_analyzer(self._rules.name, reason[:_MAX_REASON])

    def __repr__(self) -> str:
        return f"LlmAnalyzer(model={self.model!r})"
