"""The agent's tool schemas and the commands made from a model's tool calls."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from agent.llm import ToolCall
from agent.tools import (
    TOOL_SCHEMAS,
    EndCall,
    RegisterPromise,
    ScheduleCallback,
    ToolArgumentError,
    command_from,
)


def _call(name: str, **arguments) -> ToolCall:
    return ToolCall("call-1", name, arguments)


def test_every_schema_is_a_strict_function_with_its_required_fields_declared():
    names = [t["function"]["name"] for t in TOOL_SCHEMAS]
    assert names == ["register_promise", "schedule_callback", "send_payment_link", "transfer_to_agent",
                     "report_wrong_number", "stop_calling", "end_call"]
    for tool in TOOL_SCHEMAS:
        params = tool["function"]["parameters"]
        assert params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])


def test_a_promise_with_installments_and_a_callback_with_a_zone():
    assert command_from(_call("register_promise", date="2026-12-15", amount=104050, installments=3)) == \
        RegisterPromise(date(2026, 12, 15), Decimal(104050), 3)
    when = command_from(_call("schedule_callback", when="2026-11-30T10:00:00-03:00", reason="manejando"))
    assert when == ScheduleCallback(datetime(2026, 11, 30, 10, tzinfo=timezone(timedelta(hours=-3))), "manejando")
    assert command_from(_call("end_call", outcome="already_paid")) == EndCall("already_paid")


@pytest.mark.parametrize("call, reason", [
    (_call("register_promise", date="15 de diciembre", amount=1000), "bad arguments"),
    (_call("register_promise", date="2026-12-15"), "bad arguments"),
    (_call("register_promise", date="2026-12-15", amount="mucho"), "bad arguments"),
    (_call("schedule_callback", when="2026-11-30T10:00:00"), "needs a timezone"),
    (_call("end_call", outcome="whatever"), "unknown outcome"),
    (_call("format_disk"), "unknown tool"),
])
def test_wrong_arguments_are_a_clear_error(call, reason):
    with pytest.raises(ToolArgumentError, match=reason):
        command_from(call)
