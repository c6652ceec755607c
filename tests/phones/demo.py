"""`make demo`: the main job on its embedded defaults, end to end through the real lab.

A simulated debtor phone (baresip, answering on the carrier's address as +56 9 5551 234)
waits for a call; the call center starts, originates through the `trunk` endpoint, greets the
debtor in Spanish over ExternalMedia RTP, hangs up and stores the attempt in PostgreSQL. The
demo prints the stored record and what the debtor's phone actually heard.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from ari_app.app import CallCenterApp
from ari_app.settings import Settings
from countries.privacy import mask_phone
from media.audio import read_wav
from media.vad import speech_segments
from tests.phones.audio import make_spanish_wav
from tests.phones.baresip import BaresipPhone

DEBTOR_NUMBER = "5551234"


async def demo(workdir: Path) -> int:
    mic = make_spanish_wav("Aló, sí, con ella habla. ¿Quién llama?", workdir / "debtor.wav")
    phone = BaresipPhone(mic, workdir=workdir / "debtor-phone", speak_after_s=1.0)
    # One call, nothing else: queued campaign jobs (`make campaign`'s retries) are not dialed from here.
    settings = Settings(AGENT_MODE="greeting", DIALER_CHANNELS=0, SCHEDULE_WAVES=False)
    print(f"debtor phone {mask_phone(DEBTOR_NUMBER)} listening on the carrier side (127.0.0.1:5070)")
    with phone.answer(DEBTOR_NUMBER, hangup_after_s=30):
        async with CallCenterApp(settings, beside=True) as app:
            await app.wait_ready()
            print(f"call center up: Stasis app {app.stasis_app!r} registered at {settings.ari_url}")
            call = app.dialer.dial(DEBTOR_NUMBER)
            print(f"calling PJSIP/{mask_phone(DEBTOR_NUMBER)}@{settings.trunk_endpoint} ...")
            await asyncio.wait_for(call.finished.wait(), 60)
            record = await app.call_log.get(call.attempt_id)
            events = await app.call_log.events(call.attempt_id)
        await asyncio.sleep(0.5)  # let baresip close its recording
    result = phone.result()
    assert record is not None
    print("\nstored in PostgreSQL (call_attempts / call_events):")
    print(json.dumps({
        "attempt_id": str(record.id),
        "outcome": record.outcome.value if record.outcome else None,
        "hangup_cause": f"{record.hangup_cause} {record.hangup_cause_txt}",
        "metrics": record.metrics,
        "events": [e.kind for e in events],
    }, indent=2, default=str))
    if result.heard_wav is None:
        print(f"\nthe debtor's phone recorded nothing; its log: {result.log}", file=sys.stderr)
        return 1
    heard = read_wav(result.heard_wav)
    segments = speech_segments(heard)
    speech = f"{segments[0][0]:.2f}-{segments[-1][1]:.2f} s" if segments else "none"
    print(f"\nthe debtor heard {heard.duration_s:.1f} s of call audio, speech at {speech}")
    print(f"recording: {result.heard_wav}")
    ok = record.outcome is not None and record.outcome.value == "answered" and bool(segments)
    print("\ndemo call OK" if ok else "\ndemo call FAILED", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="callcenter-demo-"))
    return asyncio.run(demo(workdir))


if __name__ == "__main__":
    sys.exit(main())
