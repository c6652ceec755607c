"""Map what Asterisk reports about a call leg to the outcome the contact policy reasons with.

Keyed off the Q.850 hangup cause, not the dial status: measured on Asterisk 22, a SIP 404
reports dial status NOANSWER but cause 1 (unallocated number), and the difference matters:
one is retried in an hour, the other marks the phone invalid.
"""

from __future__ import annotations

from campaigns.calls import CallOutcome

# Q.850 cause codes as Asterisk reports them (ChannelDestroyed / ChannelHangupRequest `cause`).
CAUSE_UNALLOCATED = 1
CAUSE_NO_ROUTE_DESTINATION = 3
CAUSE_NORMAL_CLEARING = 16
CAUSE_USER_BUSY = 17
CAUSE_NO_USER_RESPONSE = 18
CAUSE_NO_ANSWER = 19
CAUSE_SUBSCRIBER_ABSENT = 20
CAUSE_CALL_REJECTED = 21
CAUSE_NUMBER_CHANGED = 22
CAUSE_INVALID_NUMBER_FORMAT = 28
CAUSE_NORMAL_UNSPECIFIED = 31
CAUSE_CONGESTION = 34  # Asterisk's AST_CAUSE_CONGESTION (SIP 503)
CAUSE_NETWORK_OUT_OF_ORDER = 38
CAUSE_TEMPORARY_FAILURE = 41
CAUSE_SWITCH_CONGESTION = 42

_UNANSWERED = {
    CAUSE_USER_BUSY: CallOutcome.BUSY,
    CAUSE_NO_USER_RESPONSE: CallOutcome.NO_ANSWER,
    CAUSE_NO_ANSWER: CallOutcome.NO_ANSWER,
    CAUSE_SUBSCRIBER_ABSENT: CallOutcome.NO_ANSWER,
    CAUSE_NORMAL_CLEARING: CallOutcome.NO_ANSWER,  # far end cancelled before answering
    CAUSE_UNALLOCATED: CallOutcome.INVALID_NUMBER,
    CAUSE_NO_ROUTE_DESTINATION: CallOutcome.INVALID_NUMBER,
    CAUSE_NUMBER_CHANGED: CallOutcome.INVALID_NUMBER,
    CAUSE_INVALID_NUMBER_FORMAT: CallOutcome.INVALID_NUMBER,
    CAUSE_CONGESTION: CallOutcome.CONGESTION,
    CAUSE_NETWORK_OUT_OF_ORDER: CallOutcome.CONGESTION,
    CAUSE_TEMPORARY_FAILURE: CallOutcome.CONGESTION,
    CAUSE_SWITCH_CONGESTION: CallOutcome.CONGESTION,
}


def outcome_for_unanswered(cause: int | None) -> CallOutcome:
    """The outcome of an outbound leg that never reached our Stasis app."""
    if cause is None:
        return CallOutcome.FAILED
    return _UNANSWERED.get(cause, CallOutcome.FAILED)
