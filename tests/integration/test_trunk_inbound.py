"""A call from the carrier over the trunk: sipp plays the carrier and hands a call to one of our DIDs.

The trunk is trusted by address (identify_by = ip): the carrier's every signalling address is in
TRUNK_MATCH. Here the carrier has two (127.0.0.1 and 127.0.0.3) and calls from the second one; the
call must reach the agent through `[from-trunk]`, be answered, carry RTP both ways, and be stored as
an inbound call to that DID from the caller's number. The same INVITE from an address not in the list
(127.0.0.2: another host, to Asterisk) is refused before anything rings, and nothing is stored.
"""

from __future__ import annotations

import pytest

from campaigns.calls import CallOutcome, Direction
from tests.integration.conftest import last_inbound_record
from tests.integration.lab_config import lab_configured
from tests.phones.sipp_caller import sipp_call

DID = "56225550100"          # the number the carrier delivers the call to (a Santiago landline)
CALLER = "56987654321"       # the caller's number, as the carrier presents it
CARRIER_ADDRESSES = "127.0.0.1,127.0.0.3"


@pytest.fixture
async def carrier_with_two_addresses():
    async with lab_configured(TRUNK_MATCH=CARRIER_ADDRESSES):
        yield


async def test_a_call_from_the_carriers_second_address_reaches_the_agent_and_is_stored(
        carrier_with_two_addresses, app, tmp_path) -> None:
    result = await sipp_call("call_in", service=DID, caller=CALLER, host="127.0.0.3", workdir=tmp_path / "in")
    assert result.ok, result.diagnostics()  # answered (200), ACKed, the agent's BYE answered

    record = await last_inbound_record(app)
    assert record.direction is Direction.INBOUND and record.outcome is CallOutcome.ANSWERED
    assert (record.local_number, record.remote_number) == (DID, CALLER)
    kinds = [e.kind for e in await app.call_log.events(record.id)]
    for expected in ("stasis_start", "answered", "media_ready", "greeting_played", "attempt_closed"):
        assert expected in kinds, f"{expected} missing from {kinds}"
    # Audio both ways: the agent spoke, and sipp echoed it back into the call.
    assert record.metrics["rtp_in"]["packets"] > 50, record.metrics

    refused = await sipp_call("call_in_refused", service=DID, caller=CALLER, host="127.0.0.2",
                              workdir=tmp_path / "refused")
    assert refused.ok, refused.diagnostics()  # 401/403, never 180 or 200
    assert "SIP/2.0 180" not in refused.messages and "SIP/2.0 200" not in refused.messages
    latest = await app.call_log.latest(Direction.INBOUND, limit=1)
    assert latest[0].id == record.id, "the refused call was stored as a call"
