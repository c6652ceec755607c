"""The number the carrier receives follows TRUNK_NUMBER_FORMAT and TRUNK_DIAL_PREFIX; the record keeps E.164.

sipp plays the carrier on the trunk's address and answers whatever number it is sent; its message log
shows the Request-URI Asterisk sent, i.e. what a real carrier would route on.
"""

from __future__ import annotations

from ari_app.app import CallCenterApp
from campaigns.calls import CallOutcome
from tests.integration.conftest import app_settings, finished
from tests.phones.sipp import SippCarrier

BUENOS_AIRES_MOBILE = "+5491123456789"


async def test_a_national_format_with_a_prefix_reaches_the_carrier(database_url, tmp_path) -> None:
    settings = app_settings(database_url, TRUNK_NUMBER_FORMAT="national", TRUNK_DIAL_PREFIX="1234")
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        async with SippCarrier("answer", workdir=tmp_path / "carrier") as carrier:
            call = await finished(app.dialer.dial(BUENOS_AIRES_MOBILE))
        record = await app.call_log.get(call.attempt_id)
    assert list(carrier.dialed().values()) == ["12340111523456789"]  # 1234 + 0 11 15 2345 6789
    assert record.outcome is CallOutcome.ANSWERED and record.remote_number == BUENOS_AIRES_MOBILE
