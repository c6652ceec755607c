"""A call leaving Stasis for the dialplan (answering-machine detection, a transfer to a person) and
coming back to this process.

The dialplan sends such a call back with `Stasis(...)`. It must come back to the Stasis app of the
process that owns the call, not to ARI_APP: a process beside the call center (`make campaign`) serves
ARI_APP-2, and the call center on ARI_APP would take that call for one it knows nothing of and hang
it up (measured in CI: every AMD verdict of the second process's calls). So the channel carries its
app (CALLCENTER_APP) and its attempt (CALLCENTER_ATTEMPT) into the dialplan.
"""

from __future__ import annotations

import uuid

from ari_app.ari import AriClient


async def continue_and_return(ari: AriClient, channel_id: str, context: str, attempt_id: uuid.UUID) -> None:
    """Continue `channel_id` in `context`; whatever brings it back to Stasis brings it back to us."""
    await ari.set_variable(channel_id, "CALLCENTER_APP", ari.app)
    await ari.set_variable(channel_id, "CALLCENTER_ATTEMPT", str(attempt_id))
    await ari.continue_in_dialplan(channel_id, context)
