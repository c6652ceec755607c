"""The agent over a written dialog, with no audio: a test harness, and a tool for flow authors.

    python -m agent.simulate DIALOG.json [--llm] [--flows-dir DIR]

A dialog (see docs/dialogue-spec.md) gives the moment of the call, the debtor's facts, the flow and
what the person who answers says, turn by turn; a turn written "#1" is a key pressed. The agent
answers each turn as it would on the phone, and the output is JSON: every turn with the agent's
words and the tools it called, and the call's outcome derived from those tools the way a supervisor
reads a call. A file holding a list of dialogs gives a list of results.

The tools are carried out as on a call, each before the agent goes on, by a stand-in for the
debtor's record (`agent.dry_run.DryRunRecord`) that applies the record's bounds to the dialog's
facts: a promise after `max_date`, over `amount_owed` or in the past is refused, the agent hears
it, and only the tools the record accepted count towards the outcome.

`--llm` runs the LLM agent (the rule engine behind it, as in a call) against `LLM_BASE_URL`
(`LLM_API_KEY`, `LLM_MODEL`), any OpenAI-compatible endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.dry_run import DryRunRecord
from agent.flow import BrokenPromise, DebtorFacts, load_flow
from agent.llm import ChatLlm, ToolCall
from agent.llm_agent import LlmAgent
from agent.prompts import DEFAULT_FLOW, refusal_words, system_prompt
from agent.protocol import Agent
from agent.rule_agent import RuleAgent
from agent.tools import TOOL_SCHEMAS
from agent.vocabulary import CallResult, ToolName

__all__ = ["OUTCOMES", "Dialog", "outcome_of", "run_dialogs", "simulate"]

OUTCOMES = ("promise_to_pay", "installment_plan", "partial_payment_promise", "callback", "transfer_to_human",
            "payment_link", "already_paid", "dispute", "wrong_number", "third_party", "do_not_call",
            "no_agreement")

# end_call's results and the outcome a supervisor reads in each.
_END_CALL = {CallResult.ALREADY_PAID: "already_paid", CallResult.DISPUTE: "dispute",
             CallResult.THIRD_PARTY: "third_party"}


@dataclass(frozen=True, slots=True)
class Dialog:
    now: datetime
    facts: DebtorFacts
    country: str
    flow: str
    debtor_turns: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Dialog:
        """The dialog of the spec's JSON; ValueError naming the field when it is wrong."""
        try:
            now = datetime.fromisoformat(data["now"])
            if now.tzinfo is None:
                raise ValueError("'now' needs a UTC offset, e.g. 2026-11-23T10:00:00-03:00")
            f = data["facts"]
            facts = DebtorFacts(
                full_name=f["full_name"], company=f["company"],
                amount_owed=int(f["amount_owed"]) if f.get("amount_owed") is not None else None,
                installments_owed=int(f["installments_owed"]) if f.get("installments_owed") is not None else None,
                due_date=date.fromisoformat(f["due_date"]) if f.get("due_date") else None,
                max_date=date.fromisoformat(f["max_date"]) if f.get("max_date") else None,
                country=str(f.get("country", "CL")).upper(), broken_promise=_broken_promise(data),
                # The dialogs were written for a company that sends payment links by WhatsApp.
                payment_link_via=str(f.get("payment_link_via", "WhatsApp")),
                payment_instructions=str(f.get("payment_instructions", "")),
            )
            turns = tuple(str(t) for t in data["debtor_turns"])
        except KeyError as exc:
            raise ValueError(f"dialog is missing {exc.args[0]!r}") from None
        return cls(now, facts, str(f.get("country", "CL")).upper(), data.get("flow") or DEFAULT_FLOW, turns)


def _broken_promise(data: Mapping[str, Any]) -> BrokenPromise | None:
    """A reminder's promise: `"purpose": "promise_reminder"` with `"promise": {"date", "amount"[, "installments"]}`."""
    purpose = data.get("purpose", "collection")
    if purpose not in ("collection", "promise_reminder"):
        raise ValueError(f"'purpose' is 'collection' or 'promise_reminder', not {purpose!r}")
    if purpose == "collection":
        return None
    promise = data["promise"]  # missing: "dialog is missing 'promise'"
    count = promise.get("installments")
    return BrokenPromise(date.fromisoformat(promise["date"]), int(promise["amount"]), int(count) if count else None)


def outcome_of(tools: Sequence[ToolCall], facts: DebtorFacts, spoken: str) -> dict[str, Any]:
    """The call's outcome from the tools the agent called (in order), as docs/dialogue-spec.md defines it.
    A tool the record refused (`ToolCall.refusal`) happened for nobody and counts for nothing."""
    tools = [t for t in tools if t.refusal() is None]
    names = [t.name for t in tools]
    out: dict[str, Any] = {"outcome": "no_agreement", "promise_date": None, "promise_amount": None,
                           "installments": None, "installment_amount": None, "first_installment_date": None,
                           "callback_at": None, "disclosed_debt": disclosed(spoken, facts)}
    promise = next((t for t in reversed(tools) if t.name == ToolName.REGISTER_PROMISE), None)
    callback = next((t for t in reversed(tools) if t.name == ToolName.SCHEDULE_CALLBACK), None)
    ended = [CallResult(t.arguments.get("outcome")) for t in tools
             if t.name == ToolName.END_CALL and t.arguments.get("outcome") in set(CallResult)]
    if ToolName.REPORT_WRONG_NUMBER in names:
        out["outcome"] = "wrong_number"
    elif ToolName.STOP_CALLING in names:
        out["outcome"] = "do_not_call"
    elif promise is not None:
        args = promise.arguments
        when, amount = str(args["date"]), int(Decimal(str(args["amount"])))
        out.update(promise_date=when, promise_amount=amount)
        if args.get("installments"):
            # A plan: `amount` is what it covers, `installment_amount` each payment (older calls: `amount`).
            each = int(Decimal(str(args.get("installment_amount") or args["amount"])))
            out.update(outcome="installment_plan", installments=int(args["installments"]),
                       installment_amount=each, first_installment_date=when, promise_amount=each)
        elif args.get("discount_percent"):  # the whole balance, less the flow's discount
            out["outcome"] = "promise_to_pay"
        elif facts.amount_owed is not None and amount < facts.amount_owed:
            out["outcome"] = "partial_payment_promise"
        else:
            out["outcome"] = "promise_to_pay"
    elif any(e in _END_CALL for e in ended):
        out["outcome"] = _END_CALL[next(e for e in ended if e in _END_CALL)]
    elif callback is not None:
        out.update(outcome="callback", callback_at=str(callback.arguments["when"]))
    elif ToolName.TRANSFER_TO_AGENT in names:
        out["outcome"] = "transfer_to_human"
    elif ToolName.SEND_PAYMENT_LINK in names:
        out["outcome"] = "payment_link"
    if out["outcome"] == "third_party" and callback is not None:
        out["callback_at"] = str(callback.arguments["when"])
    return out


def disclosed(spoken: str, facts: DebtorFacts) -> bool:
    """Whether the agent's words gave the amount owed or the creditor's name."""
    text = spoken.casefold()
    if facts.company and facts.company.casefold() in text:
        return True
    if facts.amount_owed is None:
        return False
    plain = str(facts.amount_owed)
    dotted = f"{facts.amount_owed:,}".replace(",", ".")
    return plain in text.replace(".", "") or dotted in text


def build_agent(dialog: Dialog, *, llm: ChatLlm | None = None, flows_dir: str | None = None,
                agent_name: str = "Sofía") -> Agent:
    """The agent a call for this debtor gets (as `ari_app.calls.dialogue` builds it), on a fixed clock."""
    flow = load_flow(dialog.flow, flows_dir)
    rules = RuleAgent(flow, dialog.facts, clock=lambda: dialog.now, agent_name=agent_name, country=dialog.country)
    if llm is None:
        return rules
    return LlmAgent(llm, system_prompt(flow, dialog.facts, now=dialog.now, country=dialog.country), rules,
                    tools=TOOL_SCHEMAS, explain_refusal=refusal_words(flow, dialog.facts))


async def simulate(dialog: Dialog, agent: Agent) -> dict[str, Any]:
    """Run `agent` over the dialog's turns; the turns and the outcome (the spec's output)."""
    turns: list[dict[str, Any]] = [{"debtor": None, "agent": agent.greeting(), "tools": []}]
    tools: list[ToolCall] = []
    record = DryRunRecord(dialog.facts, dialog.now)
    for said in dialog.debtor_turns:
        if agent.finished:
            break
        items = agent.keys(said[1:]) if said.startswith("#") else agent.reply(said)
        words: list[str] = []
        called: list[ToolCall] = []
        async for item in items:
            if isinstance(item, str):
                words.append(item)
            else:  # carried out before the agent goes on, as the call's player does (media.reply)
                item.result = await record.run(item)
                called.append(item)
        tools += called
        turns.append({"debtor": said, "agent": " ".join(words),
                      "tools": [{"name": str(t.name), "arguments": t.arguments,
                                 "result": t.result.text if t.result else None} for t in called]})
    spoken = " ".join(t["agent"] for t in turns)
    return {"turns": turns, "outcome": outcome_of(tools, dialog.facts, spoken)}


async def run_dialogs(dialogs: list[Dialog], use_llm: bool, flows_dir: str | None) -> list[dict[str, Any]]:
    if not use_llm:
        return [await simulate(d, build_agent(d, flows_dir=flows_dir)) for d in dialogs]
    base_url = os.environ.get("LLM_BASE_URL", "")
    if not base_url:
        raise SystemExit("error: --llm needs LLM_BASE_URL (an OpenAI-compatible endpoint)")
    # The call center's own LLM settings (docs/configuration.md), so a model is tried as calls would use it.
    async with ChatLlm(base_url=base_url, api_key=os.environ.get("LLM_API_KEY") or "none",
                       model=os.environ.get("LLM_MODEL", "gpt-4o-mini"),
                       first_token_timeout_s=float(os.environ.get("LLM_FIRST_TOKEN_TIMEOUT_S") or 4.0),
                       stall_timeout_s=float(os.environ.get("LLM_STALL_TIMEOUT_S") or 4.0)) as llm:
        return [await simulate(d, build_agent(d, llm=llm, flows_dir=flows_dir)) for d in dialogs]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("dialog", type=Path, help="a dialog (JSON object) or a list of them")
    parser.add_argument("--llm", action="store_true", help="the LLM agent against LLM_BASE_URL")
    parser.add_argument("--flows-dir", help="a directory of the operator's own flows")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.dialog.read_text("utf-8"))
        many = isinstance(data, list)
        dialogs = [Dialog.from_json(d) for d in (data if many else [data])]
    except (OSError, ValueError) as exc:
        print(f"error: {args.dialog}: {exc}", file=sys.stderr)
        return 2
    results = asyncio.run(run_dialogs(dialogs, args.llm, args.flows_dir))
    json.dump(results if many else results[0], sys.stdout, ensure_ascii=False, indent=2, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
