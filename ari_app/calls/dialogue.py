"""Builds each call's `media.conversation.Conversation` from the process-wide speech engines.

Process-wide (loaded once, shared by all calls): the Whisper model and its worker thread, the
TTS engine, the LLM client. Per call: the VAD state, the segmenter, the agent's chat history.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path

from agent.flow import BrokenPromise, DebtorFacts, Flow, FlowError, bundled_flows, load_flow
from agent.identify_agent import DebtorAgent, IdentifyingAgent, Lookup
from agent.llm import ChatLlm
from agent.llm_agent import LlmAgent
from agent.prompts import (
    DEFAULT_FLOW,
    INBOUND_PROMPT,
    NO_AGENT_FOR_UNKNOWN,
    SYSTEM_PROMPT,
    debtor_brief,
    refusal_words,
    system_prompt,
    time_and_calendar,
)
from agent.protocol import Agent, FallbackAgent
from agent.rule_agent import RuleAgent, Step
from agent.sales.agent import SalesAgent
from agent.sales.prompt import sales_prompt
from agent.sales.script import DEFAULT_SCRIPT, SalesScript, load_script
from agent.tools import INBOUND_TOOL_SCHEMAS, SALES_TOOL_SCHEMAS, TOOL_SCHEMAS
from ari_app.settings import Settings
from campaigns.campaign import zone
from campaigns.debtors import DebtorCard
from media.conversation import Conversation, ConversationConfig, ToolSink, TurnSink
from media.pacer import RtpPacer
from media.preprocess import AudioPreprocessor
from media.segmenter import SpeechSegmenter
from media.stt import (
    CallVocabulary,
    CorrectedStt,
    OperatorCorrections,
    SttEngine,
    WhisperStt,
    load_corrections,
)
from media.stt.lexicon import word_frequencies
from media.transcript import LineSink
from media.tts import EspeakTts, TtsEngine
from media.tts.coqui import CoquiTts
from media.turn import NoInputPolicy
from media.usage import CallUsage
from media.vad import make_vad

log = logging.getLogger(__name__)

def _known_flows(settings: Settings) -> set[str]:
    names = set(bundled_flows())
    if settings.flows_dir:
        names |= {p.stem for p in Path(settings.flows_dir).glob("*.toml")}
    return names


def make_tts(settings: Settings) -> EspeakTts | CoquiTts:
    """The configured TTS engine, to be entered with ``async with`` (it loads there, once)."""
    if settings.tts_engine == "coqui":
        return CoquiTts(settings.tts_model_path, device=settings.tts_device,
                        speaker=settings.tts_speaker or None)
    return EspeakTts(voice=settings.tts_voice, rate=settings.tts_rate)


def _load_correction(settings: Settings) -> OperatorCorrections:
    """The correction stage's data, loaded in a worker thread (the first call must not pay for it)."""
    import faiss  # noqa: F401  (its first import takes ~0.2 s)

    word_frequencies()
    return load_corrections(settings.stt_corrections_file or None)


def call_vocabulary(debtor: DebtorCard | None, corrections: OperatorCorrections) -> CallVocabulary:
    """What the call is likely to hear: its debtor's name, company and amounts (none for an unknown caller)."""
    if debtor is None:
        return CallVocabulary(corrections=corrections)
    return CallVocabulary.from_facts({
        "debtor_name": debtor.full_name, "company": debtor.company, "balance": debtor.amount_owed,
        "installment": debtor.promise.amount if debtor.promise else None,
        "due_date": debtor.due_date, "max_date": debtor.max_date,
    }, corrections)


def _warm_llm(settings: Settings) -> ChatLlm:
    """The LLM client, ready for a first turn (call in a worker thread: see `ConversationFactory.open`)."""
    llm = ChatLlm(base_url=settings.llm_base_url, api_key=settings.llm_api_key.get_secret_value() or "none",
                  model=settings.llm_model, first_token_timeout_s=settings.llm_first_token_timeout_s,
                  stall_timeout_s=settings.llm_stall_timeout_s)
    llm.warm_up()
    return llm


class ConversationFactory:
    def __init__(self, settings: Settings, tts: TtsEngine, stt: SttEngine, llm: ChatLlm | None) -> None:
        self._settings = settings
        self._tts = tts
        self._stt = stt
        self._llm = llm
        # Each call's transcripts pass the correction stage (its steps built from these and the call's debtor)
        # before the agent, the end-of-turn rules and the record read them.
        self._corrections = OperatorCorrections()

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings, tts: TtsEngine) -> AsyncIterator[ConversationFactory]:
        async with AsyncExitStack() as stack:
            stt = await stack.enter_async_context(WhisperStt(
                settings.stt_model_path or None, device=settings.stt_device,
                compute_type=settings.stt_compute_type, window=settings.stt_window,
            ))
            llm = None
            if settings.llm_base_url:
                # Built and warmed in a thread: the SDK's client makes an SSL context (loads the CA
                # store, 50-110 ms measured) and imports its chat modules (~50 ms), either of which on
                # the loop would hold up every call's 20 ms RTP clock (a second app in the process).
                llm = await asyncio.to_thread(_warm_llm, settings)
                await stack.enter_async_context(llm)
            factory = cls(settings, tts, stt, llm)
            # Loaded once, off the loop: the word list (~0.4 s) and the vector index's library.
            factory._corrections = await asyncio.to_thread(_load_correction, settings)
            yield factory

    def _agent(self, debtor: DebtorCard | None, identify: Lookup | None, after_failed_transfer: bool,
               called_in: bool = False) -> Agent:
        """The debtor's agent when the call is for one (`called_in`: they dialled us and were known by their
        number); an inbound caller not known by number is asked for their RUT (`identify`); anyone else (a
        test call) gets the general fallback."""
        if debtor is not None and debtor.purpose == "sales":
            return self.sales_agent(debtor, called_in=called_in)
        if debtor is not None:
            return self.debtor_agent(debtor, after_failed_transfer=after_failed_transfer, called_in=called_in)
        if after_failed_transfer:  # nobody knows who this is: apologise, never guess
            return FallbackAgent(NO_AGENT_FOR_UNKNOWN, closing=True)
        if identify is not None:
            asks_rut = IdentifyingAgent(identify, clock=lambda: datetime.now().astimezone())
            if self._llm is None:
                return asks_rut
            # The model looks the caller up itself (lookup_customer); keys, '0' and failed turns go to the rules.
            now = datetime.now().astimezone()
            prompt = f"{INBOUND_PROMPT} Hoy es {now.date().isoformat()}, son las {now:%H:%M}."
            return LlmAgent(self._llm, prompt, asks_rut, tools=INBOUND_TOOL_SCHEMAS, explain_refusal=refusal_words())
        fallback: Agent = FallbackAgent(self._settings.greeting)
        return fallback if self._llm is None else LlmAgent(self._llm, SYSTEM_PROMPT, fallback)

    def _flow(self, debtor: DebtorCard) -> tuple[Flow, DebtorFacts]:
        # The campaign's flow for the debtor's delinquency type, else one named like the type, else the default.
        name = debtor.flow or debtor.delinquency_type
        flow = load_flow(name if name in _known_flows(self._settings) else DEFAULT_FLOW, self._settings.flows_dir)
        promise = debtor.promise if debtor.purpose == "promise_reminder" else None
        broken = BrokenPromise(promise.promised_date, promise.amount, promise.installments) if promise else None
        facts = DebtorFacts(debtor.full_name, debtor.company, debtor.amount_owed, debtor.installments_owed,
                            debtor.due_date, debtor.max_date, debtor.variables, country=debtor.country,
                            broken_promise=broken, payment_link_via=debtor.payment.via,
                            payment_instructions=debtor.payment.instructions)
        return flow, facts

    def debtor_brief(self, debtor: DebtorCard) -> str:
        """What a model is told of a caller it identified (lookup_customer): their day and calendar, their
        debt's facts and their flow's limits."""
        flow, facts = self._flow(debtor)
        return f"{time_and_calendar(datetime.now(zone(debtor.timezone)), debtor.country)} {debtor_brief(flow, facts)}"

    def _script(self, debtor: DebtorCard) -> SalesScript:
        """A sales campaign's script (its flows name it: {"*": "libranza"}); an unknown one: the default."""
        try:
            return load_script(debtor.flow, self._settings.flows_dir)
        except FlowError as exc:
            log.warning("campaign %s: %s; using the %r script", debtor.campaign_id, exc, DEFAULT_SCRIPT)
            return load_script(DEFAULT_SCRIPT)

    def sales_agent(self, debtor: DebtorCard, *, called_in: bool = False) -> Agent:
        """A sales call: the built-in sales agent on the campaign's script, the LLM in front when configured."""
        tz = zone(debtor.timezone)
        script = self._script(debtor)
        rules = SalesAgent(script, full_name=debtor.full_name, company=debtor.company,
                           clock=lambda: datetime.now(tz), agent_name=self._settings.agent_name,
                           country=debtor.country, variables=debtor.variables, called_in=called_in)
        if self._llm is None:
            return rules
        prompt = sales_prompt(script, full_name=debtor.full_name, company=debtor.company, now=datetime.now(tz),
                              country=debtor.country, variables=debtor.variables, called_in=called_in)
        return LlmAgent(self._llm, prompt, rules, tools=SALES_TOOL_SCHEMAS, explain_refusal=refusal_words())

    def voicemail_message(self, debtor: DebtorCard) -> str:
        """The flow's message for an answering machine (it names the company, never the debt)."""
        if debtor.purpose == "sales":
            return self._script(debtor).say("voicemail", {"company": debtor.company})
        flow, facts = self._flow(debtor)
        return flow.say("voicemail", facts.variables())

    def debtor_agent(self, debtor: DebtorCard, *, after_failed_transfer: bool = False,
                     called_in: bool = False) -> DebtorAgent:
        """The rule engine on the debtor's flow, and the LLM in front of it when one is configured."""
        tz = zone(debtor.timezone)
        flow, facts = self._flow(debtor)
        rules = RuleAgent(flow, facts, clock=lambda: datetime.now(tz), agent_name=self._settings.agent_name,
                          start=Step.OFFER_CALLBACK if after_failed_transfer else Step.IDENTITY,
                          country=debtor.country, called_in=called_in)
        if self._llm is None:
            return rules
        # The prompt is this call's: today, the time and the calendar as the debtor lives them.
        prompt = system_prompt(flow, facts, now=datetime.now(tz), country=debtor.country, called_in=called_in)
        return LlmAgent(self._llm, prompt, rules, tools=TOOL_SCHEMAS, explain_refusal=refusal_words(flow, facts))

    async def new(
        self, pacer: RtpPacer, *, on_turn: TurnSink, on_tool_call: ToolSink | None = None,
        debtor: DebtorCard | None = None, identify: Lookup | None = None, after_failed_transfer: bool = False,
        called_in: bool = False, on_line: LineSink | None = None, usage: CallUsage | None = None,
    ) -> Conversation:
        # Loading a VAD model takes ~100 ms: off the event loop, where other calls' pacers run.
        vad = await asyncio.to_thread(make_vad, self._settings.vad, pacer.codec.sample_rate)
        return Conversation(
            pacer=pacer,
            tts=self._tts,
            stt=CorrectedStt.for_call(self._stt, call_vocabulary(debtor, self._corrections), AudioPreprocessor(
                denoise=self._settings.stt_denoise, normalize=self._settings.stt_normalize),
                prompt_names=self._settings.stt_prompt_names),
            agent=self._agent(debtor, identify, after_failed_transfer, called_in=called_in),
            segmenter=SpeechSegmenter(vad, sample_rate=pacer.codec.sample_rate),
            no_input=NoInputPolicy(timeout_s=self._settings.no_input_timeout_s),
            config=ConversationConfig(max_duration_s=self._settings.max_call_duration_s or None),
            on_turn=on_turn,
            on_tool_call=on_tool_call,
            on_line=on_line,
            usage=usage,
        )
