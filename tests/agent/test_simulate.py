"""The text-level simulator: the agent over a written dialog, and the outcome a supervisor reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.llm import ToolCall
from agent.simulate import Dialog, build_agent, main, outcome_of, simulate

DIALOG = {
    "now": "2026-11-23T10:00:00-03:00",
    "facts": {"first_name": "Camila", "full_name": "Camila Rojas", "company": "Natura", "amount_owed": 150000,
              "installments_owed": 2, "due_date": "2026-11-05", "max_date": "2026-12-20", "country": "CL"},
    "flow": "temprana",
    "debtor_turns": ["Sí, soy yo", "Le pago ciento cincuenta mil el quince de diciembre", "Sí"],
}


async def test_a_promise_read_back_and_confirmed_is_the_outcome() -> None:
    dialog = Dialog.from_json(DIALOG)
    result = await simulate(dialog, build_agent(dialog))
    assert result["outcome"] == {
        "outcome": "promise_to_pay", "promise_date": "2026-12-15", "promise_amount": 150000, "installments": None,
        "installment_amount": None, "first_installment_date": None, "callback_at": None, "disclosed_debt": True}
    assert result["turns"][0]["debtor"] is None and "Camila" in result["turns"][0]["agent"]
    assert [t["name"] for t in result["turns"][-1]["tools"]] == ["register_promise"]


def test_outcomes_follow_the_spec_precedence() -> None:
    dialog = Dialog.from_json(DIALOG)

    def tool(name: str, **arguments: object) -> ToolCall:
        return ToolCall("t", name, dict(arguments))

    link_then_promise = [tool("send_payment_link"), tool("register_promise", date="2026-12-01", amount=50000)]
    assert outcome_of(link_then_promise, dialog.facts, "")["outcome"] == "partial_payment_promise"
    plan = outcome_of([tool("register_promise", date="2026-12-01", amount=50000, installments=3)], dialog.facts, "")
    assert (plan["outcome"], plan["installments"], plan["first_installment_date"]) == ("installment_plan", 3,
                                                                                      "2026-12-01")
    assert outcome_of([tool("stop_calling"), tool("transfer_to_agent")], dialog.facts, "")["outcome"] == "do_not_call"
    # A plan as the rule engine registers it: `amount` what it covers, `installment_amount` each payment.
    plan = outcome_of([tool("register_promise", date="2026-12-01", amount=150000, installments=3,
                            installment_amount=50000)], dialog.facts, "")
    assert (plan["outcome"], plan["promise_amount"], plan["installment_amount"]) == ("installment_plan", 50000, 50000)
    discounted = [tool("register_promise", date="2026-11-25", amount=135000, discount_percent=10)]
    assert outcome_of(discounted, dialog.facts, "")["outcome"] == "promise_to_pay"
    relative = [tool("end_call", outcome="third_party"), tool("schedule_callback", when="2026-11-23T19:00:00-03:00")]
    assert outcome_of(relative, dialog.facts, "") | {"disclosed_debt": False} == {
        **outcome_of([], dialog.facts, ""), "outcome": "third_party", "callback_at": "2026-11-23T19:00:00-03:00"}
    assert outcome_of([], dialog.facts, "Hola, ¿hablo con Camila?") == {**outcome_of([], dialog.facts, ""),
                                                                         "disclosed_debt": False}
    assert outcome_of([], dialog.facts, "tiene una deuda de 150.000 pesos")["disclosed_debt"] is True


def test_the_cli_prints_json_and_rejects_a_bad_dialog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "dialog.json"
    good.write_text(json.dumps(DIALOG), "utf-8")
    assert main([str(good)]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"]["outcome"] == "promise_to_pay"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**DIALOG, "now": "2026-11-23T10:00:00"}), "utf-8")
    assert main([str(bad)]) == 2
    assert "UTC offset" in capsys.readouterr().err
