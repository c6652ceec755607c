"""A desk phone on the LAN: Asterisk bound to every address (ASTERISK_SIP_BIND=0.0.0.0), a phone on
another host registering to the address it knows Asterisk by, and placing a call to the agent.

127.0.0.2 plays both the phone's host and the server's LAN address: the phone binds only there, and
sends its REGISTER and INVITE to 127.0.0.2:5060, which a lab bound to 127.0.0.1 never hears.
"""

from __future__ import annotations

import pytest

from campaigns.calls import CallOutcome
from media.audio import read_wav
from media.vad import speech_segments
from tests.integration.conftest import last_inbound_record
from tests.integration.lab_config import lab_configured
from tests.phones.audio import make_spanish_wav
from tests.phones.baresip import BaresipPhone

LAN_ADDRESS = "127.0.0.2"


@pytest.fixture
async def lab_on_every_address():
    async with lab_configured(restart=True, ASTERISK_SIP_BIND="0.0.0.0"):
        yield


async def test_a_phone_on_another_host_registers_and_calls_the_agent(lab_on_every_address, app, tmp_path) -> None:
    mic = make_spanish_wav("Aló, ¿con quién hablo?", tmp_path / "desk.wav")
    phone = BaresipPhone(mic, workdir=tmp_path / "phone", speak_after_s=0.5, address=LAN_ADDRESS)
    result = await phone.adial(f"sip:7000@{LAN_ADDRESS}", duration_s=12, user="1003",
                               registrar=f"{LAN_ADDRESS}:5060")
    assert result.registered and result.established, f"the desk phone could not call in; log: {result.log}"

    record = await last_inbound_record(app)
    assert record.outcome is CallOutcome.ANSWERED
    assert (record.local_number, record.remote_number) == ("7000", "1003")
    assert record.metrics["rtp_in"]["packets"] > 100, record.metrics  # the phone's voice reached the agent
    assert result.heard_wav is not None, f"the phone recorded nothing; log: {result.log}"
    assert speech_segments(read_wav(result.heard_wav), hangover_ms=400), "the phone heard no greeting"
