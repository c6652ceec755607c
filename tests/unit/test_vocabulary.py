"""One vocabulary of tools and call results (`agent.vocabulary`): every tool and every result the rule
engine, the tools and their actions use is a member, and the members keep the strings stored today."""

from __future__ import annotations

import ast
import inspect
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from agent.llm import ToolCall
from agent.tools import (
    COMMANDS,
    END_CALL_OUTCOMES,
    INBOUND_TOOL_SCHEMAS,
    SALES_TOOL_SCHEMAS,
    SYSTEM_END_CALL_OUTCOMES,
    TOOL_SCHEMAS,
    ToolArgumentError,
    command_from,
)
from agent.vocabulary import CallResult, Refusal, ToolName
from ari_app.calls.party import CallParty
from campaigns.actions import CallActions, CallContext

ROOT = Path(__file__).resolve().parents[2]
RESULTS = {r.value for r in CallResult}

# One valid call of each tool: a new tool needs one here (the test below says so).
SAMPLES = {
    ToolName.REGISTER_PROMISE: {"date": "2026-12-15", "amount": 50000, "installments": 2, "installment_amount": 25000},
    ToolName.SCHEDULE_CALLBACK: {"when": "2026-11-30T10:00:00-03:00", "reason": "manejando"},
    ToolName.SEND_PAYMENT_LINK: {},
    ToolName.TRANSFER_TO_AGENT: {"reason": "asked for a person"},
    ToolName.REPORT_WRONG_NUMBER: {},
    ToolName.STOP_CALLING: {},
    ToolName.END_CALL: {"outcome": "already_paid"},
    ToolName.LOOKUP_CUSTOMER: {"rut": "12.345.678-5", "phone_last4": "4521"},
    ToolName.RECORD_LEAD: {"interest": 4, "key_points": ["monto: 5 millones"], "objections": ["rate"],
                           "wants_contact": True},
}


def test_the_values_are_the_strings_stored_and_sent_today():
    # Rows in call_attempts.result, call events, webhooks and JSON carry these: never rename one.
    assert RESULTS == {"promise", "callback", "payment_link", "transfer", "wrong_number", "stop_calling",
                       "already_paid", "refused", "dispute", "cannot_pay", "completed", "hung_up",
                       "no_agent_available", "not_understood", "third_party", "interested", "not_interested"}
    assert [t.value for t in ToolName] == ["register_promise", "schedule_callback", "send_payment_link",
                                           "transfer_to_agent", "report_wrong_number", "stop_calling", "end_call",
                                           "lookup_customer", "record_lead"]


def test_refusal_codes_are_the_strings_stored_today():
    # tool_refused events carry them; the agents answer each: never rename one.
    assert [r.value for r in Refusal] == ["amount", "installments", "date_past", "date_after_max",
                                          "amount_over_debt", "unidentified", "no_campaign", "bad_arguments",
                                          "invalid_id", "not_found", "identify_locked", "no_directory",
                                          "no_payment_channel"]


def test_every_tool_has_one_command_and_one_schema_under_its_name():
    assert list(COMMANDS) == list(ToolName)
    # A debtor's model gets every tool but the lookup and the lead's record; an unknown caller's, the lookup
    # first, then the rest; a sales call's model, the lead's record and the tools that end any call.
    assert [t["function"]["name"] for t in TOOL_SCHEMAS] == [
        t.value for t in ToolName if t not in (ToolName.LOOKUP_CUSTOMER, ToolName.RECORD_LEAD)]
    assert [t["function"]["name"] for t in SALES_TOOL_SCHEMAS] == [
        "record_lead", "schedule_callback", "transfer_to_agent", "report_wrong_number", "stop_calling"]
    assert INBOUND_TOOL_SCHEMAS == [COMMANDS[ToolName.LOOKUP_CUSTOMER].schema, *TOOL_SCHEMAS]
    for name, command in COMMANDS.items():
        assert command.name is name and command.schema["function"]["name"] == name.value
        assert type(command.schema["function"]["name"]) is str  # plain JSON, whatever serialises it


def test_end_call_offers_the_model_exactly_its_outcomes_and_each_is_a_result():
    (schema,) = [t for t in TOOL_SCHEMAS if t["function"]["name"] == ToolName.END_CALL]
    enum = schema["function"]["parameters"]["properties"]["outcome"]["enum"]
    assert enum == [o.value for o in END_CALL_OUTCOMES]
    assert set(enum) <= RESULTS
    for outcome in enum:
        assert command_from(ToolCall("t", "end_call", {"outcome": outcome})).outcome == outcome


@pytest.mark.parametrize("name", list(ToolName))
def test_each_command_names_a_call_actions_method_that_takes_its_arguments(name):
    assert name in SAMPLES, f"add a valid call of {name} to SAMPLES"
    command = command_from(ToolCall("t", name.value, SAMPLES[name]))
    assert command.name is name
    now = datetime(2026, 11, 23, 10, tzinfo=timezone(timedelta(hours=-3)))
    if command.on_party:  # carried out by the call's party, with the command itself
        method = getattr(CallParty, command.action, None)
        assert inspect.iscoroutinefunction(method), f"CallParty.{command.action} (the {name} tool's action)"
        inspect.signature(method).bind(object(), command)
        return
    method = getattr(CallActions, command.action, None)
    assert inspect.iscoroutinefunction(method), f"CallActions.{command.action} (the {name} tool's action)"
    inspect.signature(method).bind(object(), CallContext(uuid.uuid4()), **command.arguments(now))
    assert isinstance(command.reply(1 if name is ToolName.REGISTER_PROMISE else now), str)


def _source(relative: str) -> ast.Module:
    return ast.parse((ROOT / relative).read_text("utf-8"))


def _member(node: ast.expr, enum: type) -> str | None:
    """The member `node` names (`ToolName.END_CALL`), None when it is anything else (a string literal)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == enum.__name__:
        assert node.attr in enum.__members__, f"{enum.__name__}.{node.attr} is no member"
        return enum[node.attr].value
    return None


def _rule_engine_tool_calls() -> list[ast.Call]:
    # The engine's steps live in rule_agent.py and (the negotiation) deal_steps.py.
    return [node for module in ("agent/rule_agent.py", "agent/deal_steps.py") for node in ast.walk(_source(module))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_tool"]


def test_the_rule_engine_names_every_tool_and_outcome_by_the_vocabulary():
    calls = _rule_engine_tool_calls()
    assert len(calls) >= 10
    names = {_member(call.args[0], ToolName) for call in calls}
    assert None not in names, "a tool the rule engine calls is spelled as a string, not a ToolName member"
    outcomes = {_member(k.value, CallResult) for call in calls for k in call.keywords if k.arg == "outcome"}
    assert None not in outcomes, "an end_call outcome the rule engine sends is not a CallResult member"
    assert names <= {t.value for t in ToolName} and outcomes <= RESULTS


def test_every_outcome_the_rule_engine_sends_is_one_end_call_accepts():
    outcomes = {_member(k.value, CallResult) for call in _rule_engine_tool_calls() for k in call.keywords
                if k.arg == "outcome"}
    assert outcomes <= {o.value for o in END_CALL_OUTCOMES + SYSTEM_END_CALL_OUTCOMES}
    assert {CallResult.NO_AGENT_AVAILABLE, CallResult.NOT_UNDERSTOOD} <= outcomes  # the system's own closings
    for outcome in outcomes:
        assert command_from(ToolCall("t", "end_call", {"outcome": outcome})).outcome == outcome


def test_the_model_is_never_offered_a_closing_only_the_system_decides():
    (schema,) = [t for t in TOOL_SCHEMAS if t["function"]["name"] == ToolName.END_CALL]
    offered = set(schema["function"]["parameters"]["properties"]["outcome"]["enum"])
    assert offered and not offered & {o.value for o in SYSTEM_END_CALL_OUTCOMES}
    with pytest.raises(ToolArgumentError):
        command_from(ToolCall("t", "end_call", {"outcome": "whatever"}))


@pytest.mark.parametrize("module", ["agent/identify_agent.py", "agent/llm_agent.py", "agent/rule_agent.py",
                                    "agent/deal_steps.py",
                                    "ari_app/calls/party.py", "ari_app/calls/tools.py"])
def test_no_tool_call_or_tool_check_spells_a_tool_name(module):
    tool_names = {t.value for t in ToolName}
    for node in ast.walk(_source(module)):
        literals = []
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ToolCall" and len(node.args) > 1:
            literals.append(node.args[1])
        if isinstance(node, ast.Compare):
            literals += [node.left, *node.comparators]
            literals += [e for c in node.comparators if isinstance(c, ast.Tuple | ast.Set | ast.List) for e in c.elts]
        spelled = [n.value for n in literals if isinstance(n, ast.Constant) and n.value in tool_names]
        assert not spelled, f"{module}:{node.lineno} spells {spelled}: use ToolName"


def test_the_actions_record_only_vocabulary_results():
    found = 0
    for node in ast.walk(_source("campaigns/actions.py")):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("_result", "note"):
            result = node.args[2] if node.func.attr == "_result" else node.args[1]
            assert not isinstance(result, ast.Constant), f"campaigns/actions.py:{node.lineno}: use CallResult"
            found += _member(result, CallResult) is not None
    assert found >= 6


def test_the_dashboard_labels_only_results_there_are():
    script = (ROOT / "api/static/dashboard-format.js").read_text("utf-8")
    block = re.search(r"const RESULTS = \{(.*?)\};", script, re.DOTALL)
    assert block is not None
    labelled = set(re.findall(r"(\w+):", block.group(1)))
    assert labelled and labelled <= RESULTS
