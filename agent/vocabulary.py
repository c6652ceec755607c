"""The one vocabulary of the agent's tools and of a call's results, shared by every layer.

A tool is what the agent (the LLM or the rule engine) asks the call to do; a result is what the
call leaves in `call_attempts.result`, which `ContactService.settle` turns into the job's fate
when the call ends and the analysis reads afterwards. The values are the strings stored in the
database and sent in JSON and webhooks: a `StrEnum` member equals its string, so rows written
before this module existed and rows written after it are the same. Never change a value; add a
member instead.

This module imports nothing of the project, so every layer may use it (`campaigns` and `api`
may import it and nothing else of `agent`: tests/unit/test_layout.py).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CallResult", "Refusal", "ToolName"]


class ToolName(StrEnum):
    """The agent's tools, as named in the OpenAI function schemas and in each `ToolCall`."""

    # A dated (and possibly instalment) payment promise the debtor accepted, read back first: stored
    # in `promises`; the job ends (result PROMISE).
    REGISTER_PROMISE = "register_promise"
    # The debtor asked to be called at another time: the job stays queued for it, moved into the
    # profile's calling hours (result CALLBACK).
    SCHEDULE_CALLBACK = "schedule_callback"
    # The debtor asked for the payment link: requested through the webhooks outbox; the conversation
    # goes on (result PAYMENT_LINK until another tool records one).
    SEND_PAYMENT_LINK = "send_payment_link"
    # The caller goes to a person (dialplan `[human-agents]`); the job ends (result TRANSFER).
    TRANSFER_TO_AGENT = "transfer_to_agent"
    # Whoever answered is not the debtor and does not know them: the phone leaves the rotation, the
    # next one is tried after the failure delay, no contact is counted (result WRONG_NUMBER).
    REPORT_WRONG_NUMBER = "report_wrong_number"
    # "No me vuelvan a llamar": the debtor is excluded at once, from every campaign (result STOP_CALLING).
    STOP_CALLING = "stop_calling"
    # The conversation is over with the outcome it names (`END_CALL_OUTCOMES` in agent/tools.py).
    END_CALL = "end_call"
    # An inbound caller nobody recognised gives their RUT: the call becomes theirs (as keying it does), and
    # the model is told their debt's facts. Records no result; only the inbound model is offered it.
    LOOKUP_CUSTOMER = "lookup_customer"
    # A sales call's lead, qualified: interest 1-5, key points and objections (event lead_qualified); the
    # result INTERESTED or NOT_INTERESTED. Only a sales call's agent is offered it.
    RECORD_LEAD = "record_lead"


class CallResult(StrEnum):
    """What the agent's tools recorded on a call (`call_attempts.result`); NULL when no tool ran.

    An answered call ends its job with the result as the job's reason (NULL: 'reached'), except a
    WRONG_NUMBER (no contact: the next phone is tried) and a CALLBACK (the job waits for it).
    """

    # register_promise: the debtor promised to pay; the job is done, the promise is followed up.
    PROMISE = "promise"
    # schedule_callback: the job stays queued for the booked time.
    CALLBACK = "callback"
    # send_payment_link: the debtor asked for the link; the job is done once the call ends on it.
    PAYMENT_LINK = "payment_link"
    # transfer_to_agent: a person took (or was asked to take) the caller; the job is done.
    TRANSFER = "transfer"
    # report_wrong_number: not the debtor's phone; the phone is marked and the job tries the next one.
    WRONG_NUMBER = "wrong_number"
    # stop_calling: the debtor is excluded from every campaign; the job is done.
    STOP_CALLING = "stop_calling"
    # end_call: the debtor says the debt is paid; the job is done, a person should check the payment.
    ALREADY_PAID = "already_paid"
    # end_call: the debtor refuses to pay; the job is done.
    REFUSED = "refused"
    # end_call: the debtor disputes the debt; the job is done, a person should take it up.
    DISPUTE = "dispute"
    # end_call: the debtor cannot pay now (asked twice); the job is done, a follow-up call is due.
    CANNOT_PAY = "cannot_pay"
    # end_call: the conversation ended with nothing more specific; the job is done (the debtor was reached).
    COMPLETED = "completed"
    # end_call: the debtor hung up mid-conversation; the job is done (the debtor was reached).
    HUNG_UP = "hung_up"
    # end_call: whoever answered knows the debtor but is not them (a relative, a colleague); the debt
    # was never mentioned. A time they gave for the debtor follows as a callback (the call's result then).
    THIRD_PARTY = "third_party"
    # end_call from the rule engine: back from a transfer nobody answered, the debtor declined the
    # callback offered. The analysis counts it as asking for a person. One of the system's own closings
    # (`SYSTEM_END_CALL_OUTCOMES` in agent/tools.py): recorded, never offered to a model.
    NO_AGENT_AVAILABLE = "no_agent_available"
    # end_call from the rule engine: three misunderstandings where no person could take over. A system
    # closing too, like NO_AGENT_AVAILABLE.
    NOT_UNDERSTOOD = "not_understood"
    # record_lead on a sales call: the lead is warm (interest 4-5, or asked for an executive's call); the
    # job is done and the call waits in the ready-for-human queue for a person to close the sale.
    INTERESTED = "interested"
    # record_lead on a sales call: the lead heard the offer and is not interested now; the job is done.
    NOT_INTERESTED = "not_interested"


class Refusal(StrEnum):
    """Why a tool was not carried out: the code of `campaigns.actions.ActionRefused` (and of the agent's
    own stand-in for the record, `agent.dry_run`), which a brain turns into words. Stored in
    `tool_refused` events: add, never rename."""

    # register_promise: the amount (or an instalment) is not more than zero.
    AMOUNT = "amount"
    # register_promise: an instalment amount with no number of instalments.
    INSTALLMENTS = "installments"
    # register_promise: the date has already passed.
    DATE_PAST = "date_past"
    # register_promise: the date is after the debt's maximum date (`debtors.max_date`).
    DATE_AFTER_MAX = "date_after_max"
    # register_promise: more than the debt (`debtors.amount_owed`; a plan's total counts).
    AMOUNT_OVER_DEBT = "amount_over_debt"
    # any debt action before an inbound caller is identified.
    UNIDENTIFIED = "unidentified"
    # schedule_callback: the debtor is in no active campaign to carry it.
    NO_CAMPAIGN = "no_campaign"
    # the model's call was malformed: an unknown tool, or arguments its command cannot read.
    BAD_ARGUMENTS = "bad_arguments"
    # lookup_customer: the national id's check digit does not match (misheard, mistyped).
    INVALID_ID = "invalid_id"
    # lookup_customer: no debtor has this national id with a phone ending in the digits given.
    NOT_FOUND = "not_found"
    # lookup_customer: this calling number failed to identify too often today.
    IDENTIFY_LOCKED = "identify_locked"
    # lookup_customer: this call keeps no debtors (no database), so nobody can be looked up.
    NO_DIRECTORY = "no_directory"
    # send_payment_link: the debtor's company has no payment link or no messaging gateway to send it.
    NO_PAYMENT_CHANNEL = "no_payment_channel"
