"""Answering machines on campaign calls: Asterisk's AMD() decides, the campaign says what follows.

The call is originated into the app as any other, so ARI reports everything about it, a busy or
unanswered one included. Once answered, the channel is sent to the dialplan's [outbound-amd]
(AMD(), then back into the app with AMDSTATUS and AMDCAUSE as arguments). While it is out of
Stasis, an explicit subscription keeps its events coming: a hang-up during detection is seen.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ari_app.ari import AriClient, AriError
from ari_app.calls.dialplan import continue_and_return
from ari_app.calls.legs import AmdVerdict
from ari_app.calls.media import CallMedia
from media.reply import ReplyPlayer
from media.tts import TtsEngine
from media.voicemail import LineQuiet

if TYPE_CHECKING:
    from ari_app.calls.results import CallResults

AMD_CONTEXT = "outbound-amd"  # dialplan/extensions.conf
AMD_WAIT_S = 10.0  # amd.conf's total_analysis_time is 5 s; the rest is margin for a loaded box


class MachineCheck:
    def __init__(self, ari: AriClient, channel_id: str, attempt_id: uuid.UUID,
                 record: Callable[[str, dict[str, Any]], None]) -> None:
        self._ari = ari
        self._channel_id = channel_id
        self._attempt_id = attempt_id
        self._record = record
        self.answered = asyncio.Event()  # the first StasisStart: answered, detection still to run
        self.in_dialplan = False  # sent to [outbound-amd]: its StasisEnd is not the call's end
        self.verdict: AmdVerdict | None = None

    def on_stasis_start(self, args: Sequence[str]) -> bool:
        """True for the answer before detection (the call waits for the verdict); False for the
        entry that brings the verdict back."""
        if not self.answered.is_set():
            self.answered.set()
            return True
        self.in_dialplan = False
        self.verdict = AmdVerdict.from_args(args)
        return False

    async def start(self) -> bool:
        """Send the answered channel to AMD; False when Asterisk refused (the call goes on without)."""
        self.in_dialplan = True
        try:
            await self._ari.subscribe(self._channel_id)
            await continue_and_return(self._ari, self._channel_id, AMD_CONTEXT, self._attempt_id)
        except AriError as exc:
            self.in_dialplan = False
            self._record("amd_failed", {"error": str(exc)})
            return False
        return True


async def leave_message(media: CallMedia, tts: TtsEngine, text: str, results: CallResults) -> dict[str, Any]:
    """Speak `text` to the machine once its greeting and beep are over; what was played.

    Recorded and transcribed like any call: what a debt collector left on someone's voicemail is
    what a supervisor (or a regulator) may ask to hear."""
    quiet = LineQuiet()

    def heard(pcm: np.ndarray) -> None:
        quiet.feed(pcm)
        results.heard(pcm)

    after_beep = False

    async def greeting_and_beep_over() -> None:
        nonlocal after_beep
        after_beep = await quiet.wait()

    session = await media.open(heard)
    results.record(session)
    voice = ReplyPlayer(session.pacer, tts, usage=results.usage, on_line=results.line)
    # Synthesised while the machine's greeting goes on; played once it and the beep are over.
    message = await voice.say(text, not_before=greeting_and_beep_over)
    result = message.result
    assert result is not None  # played to the end: say() returns once the pacer is done with it
    return {"after_beep": after_beep, "tts_duration_s": round(message.duration_s, 3),
            "frames_played": result.frames_played, "frames_total": result.frames_total}


async def first_of(*events: asyncio.Event, timeout_s: float) -> None:
    """Wait until any of `events` is set (the answer, the verdict, the hang-up), or `timeout_s` has passed."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
