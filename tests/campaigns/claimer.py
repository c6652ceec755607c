"""A dialer worker that dies mid-call: claims one job, writes the attempt exactly as the dialer does
before its originate (and, with `answered`, marks the call answered), says so, then waits to be
killed (`test_queue`'s SIGKILL)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime

from ari_app.settings import Settings
from campaigns.calls import CallLog, Direction
from campaigns.campaign import CampaignStore
from campaigns.contacts import ContactService
from campaigns.db import open_database
from campaigns.queue import CallQueue


async def main(trunk: str, campaign_id: int, lease_s: float, answered: bool) -> None:
    async with open_database(Settings().database_url.get_secret_value(), max_size=2) as pool:
        queue = CallQueue(pool, f"doomed-{uuid.uuid4().hex[:6]}", lease_s=lease_s)
        campaign = await CampaignStore(pool).get(campaign_id)
        (job,) = await queue.claim(trunk, cap=10, limit=1)
        target = await ContactService(pool, queue).gate(job, campaign, datetime.now().astimezone())
        assert target is not None, "the policy refused the first call"
        attempt = uuid.uuid4()
        await CallLog(pool).open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND,
                                         channel_id=f"out-{attempt}", remote_number=target.e164,
                                         job_id=job.id, campaign_id=campaign_id, debtor_id=job.debtor_id,
                                         phone_id=target.phone_id)
        if answered:
            await CallLog(pool).mark_answered(attempt)
        print(f"dialing {job.id}", flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:] == ["answered"]))
