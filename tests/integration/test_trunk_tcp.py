"""A carrier that wants SIP over TCP (TRUNK_TRANSPORT=tcp): our call reaches it, over TCP, and is answered.

The lab's Asterisk is restarted with the setting (a new transport is read only at start) and put back
on its defaults afterwards; sipp plays the carrier on a TCP socket at the trunk's address.
"""

from __future__ import annotations

import pytest

from campaigns.calls import CallOutcome
from tests.integration.conftest import finished
from tests.integration.lab_config import lab_configured
from tests.phones.sipp import SippCarrier


@pytest.fixture
async def trunk_over_tcp():
    async with lab_configured(restart=True, TRUNK_TRANSPORT="tcp"):
        yield


async def test_a_carrier_over_tcp_gets_the_call_over_tcp_and_answers(trunk_over_tcp, app, tmp_path) -> None:
    async with SippCarrier("answer", transport="tcp", workdir=tmp_path / "carrier") as carrier:
        call = await finished(app.dialer.dial("5551234"))
    record = await app.call_log.get(call.attempt_id)
    assert record.outcome is CallOutcome.ANSWERED, record
    assert record.metrics["rtp_in"]["packets"] > 50  # sipp echoed the agent's audio
    invite = next(block for block in carrier.message_log.read_text().split("message received")[1:]
                  if "INVITE sip:5551234@" in block)
    assert "Via: SIP/2.0/TCP" in invite, invite
