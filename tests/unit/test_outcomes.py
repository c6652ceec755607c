import pytest

from ari_app.calls.outcomes import outcome_for_unanswered
from campaigns.calls import CallOutcome


# Causes measured in the lab for each far-end answer (see asterisk/README.md).
@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        (17, CallOutcome.BUSY),            # 486 Busy Here
        (19, CallOutcome.NO_ANSWER),       # 480, or ringing until the originate timeout
        (34, CallOutcome.CONGESTION),      # 503
        (1, CallOutcome.INVALID_NUMBER),   # 404: dial status says NOANSWER, the cause knows better
        (21, CallOutcome.FAILED),          # call rejected: not retried as if nobody was home
        (None, CallOutcome.FAILED),
        (127, CallOutcome.FAILED),
    ],
)
def test_unanswered_outcome_follows_the_hangup_cause(cause, outcome):
    assert outcome_for_unanswered(cause) is outcome
