"""The part of a call a person takes over: what their desk phone shows, and the recording of it.

Before a transfer leaves Stasis, the caller's CALLERID(name) becomes who they are and where the call
stands ("María José Pérez, debe 150.000, 3 cuotas"): app_queue rings the desk phones with it, and
the phone shows it as the caller's name (the From display name). Desk phones show 20 to 40
characters, so the line is cut to DESK_NAME_CHARS. No RUT or phone number goes into it: the line
also lands in Asterisk's logs and the phones' call lists.

The dialplan (`[human-agents]`) records the talk with the person with MixMonitor into Asterisk's
recording spool as `human-<attempt id>`; the app cannot see the end of that talk through Stasis (the
channel left it), so it asks ARI now and then whether the channel is still there, and once it is
gone, fetches the file over ARI (no disk shared with Asterisk), writes it to the recording store
beside the call's own recording (`<attempt id>-human.wav`), and puts it on the call's record as the
event `human_leg_recorded`. No file means nobody answered (MixMonitor writes only while bridged).
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
import wave
from datetime import UTC, datetime

from ari_app.ari import AriClient, AriError
from campaigns.calls import CallLog
from campaigns.debtors import DebtorCard
from media.recordings import RecordingStore, recording_key

log = logging.getLogger(__name__)

DESK_NAME_CHARS = 40  # what a Grandstream GXP's or a softphone's call screen shows of a name
HUMAN_LEG_POLL_S = 2.0  # how often ARI is asked whether the transferred channel is still up
HUMAN_LEG_MAX_S = 4 * 3600  # a talk longer than this is not waited for (its file stays in Asterisk's spool)

_fetches: set[asyncio.Task[None]] = set()  # running fetches, kept referenced until they end


def desk_caller_name(card: DebtorCard | None, fallback: str = "Cliente") -> str:
    """The caller as a human agent's desk phone shows it: the name, the debt, the instalments owed."""
    if card is None:
        return fallback
    # CALLERID(name) is quoted into the SIP From header: no quotes or backslashes of our own.
    line = " ".join(card.full_name.replace('"', "").replace("\\", "").split())[:DESK_NAME_CHARS] or fallback
    extras = []
    if card.amount_owed is not None:
        extras.append(f"debe {card.amount_owed:,}".replace(",", "."))  # Spanish thousands: 150.000
    if card.installments_owed:
        extras.append(f"{card.installments_owed} cuota{'s' if card.installments_owed != 1 else ''}")
    for extra in extras:  # what does not fit whole is left out, never cut in the middle
        if len(line) + 2 + len(extra) > DESK_NAME_CHARS:
            break
        line += ", " + extra
    return line.strip()


def human_leg_recording_name(attempt_id: uuid.UUID) -> str:
    """The stored recording's name in Asterisk's spool (dialplan/extensions.conf, [human-agents])."""
    return f"human-{attempt_id}"


def human_leg_key(attempt_id: uuid.UUID, day: datetime) -> str:
    """The recording store's key: next to the call's own recording (`<attempt id>.wav`)."""
    return recording_key(attempt_id, day.date()).removesuffix(".wav") + "-human.wav"


def collect_human_leg(ari: AriClient, channel_id: str, attempt_id: uuid.UUID, call_log: CallLog,
                      store: RecordingStore | None) -> None:
    """Start fetching the human leg's recording once the transferred channel is gone (in the background)."""
    if store is None:  # RECORD_CALLS=false: MixMonitor's file is not kept either
        return
    task = asyncio.ensure_future(_collect(ari, channel_id, attempt_id, call_log, store))
    _fetches.add(task)
    task.add_done_callback(_fetches.discard)


async def _collect(ari: AriClient, channel_id: str, attempt_id: uuid.UUID, call_log: CallLog,
                   store: RecordingStore) -> None:
    started = datetime.now(UTC)
    name = human_leg_recording_name(attempt_id)
    try:
        if not await _until_gone(ari, channel_id):
            log.warning("attempt %s: the human leg outlived %d s; its recording %s stays in Asterisk's spool",
                        attempt_id, HUMAN_LEG_MAX_S, name)
            return
        data = await ari.stored_recording_file(name)
        if data is None:
            return
        key = human_leg_key(attempt_id, started)
        duration_ms = await asyncio.get_running_loop().run_in_executor(None, _store_wav, store, key, data)
        if duration_ms:  # else nobody answered: MixMonitor wrote only a header (it records while bridged)
            await call_log.add_event(attempt_id, "human_leg_recorded", {"key": key, "duration_ms": duration_ms})
            log.info("attempt %s: human leg recorded, %d ms (%s)", attempt_id, duration_ms, key)
        await ari.delete_stored_recording(name)
    except Exception:
        log.exception("attempt %s: could not collect the human leg's recording %s", attempt_id, name)


async def _until_gone(ari: AriClient, channel_id: str) -> bool:
    """True once the channel no longer exists; False when it is still up after HUMAN_LEG_MAX_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HUMAN_LEG_MAX_S
    while loop.time() < deadline:
        try:
            await ari.get_channel(channel_id)
        except AriError as exc:
            if exc.not_found:
                return True
            log.warning("channel %s: ARI did not say whether it is up: %s", channel_id, exc)
        await asyncio.sleep(HUMAN_LEG_POLL_S)
    return False


def _store_wav(store: RecordingStore, key: str, data: bytes) -> int:
    """MixMonitor's WAV (16-bit PCM) into the store; its length in ms (0: empty, nothing stored). Runs in a
    worker thread."""
    with wave.open(io.BytesIO(data), "rb") as w:
        channels, rate, frames = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
        if w.getsampwidth() != 2:
            raise ValueError(f"expected 16-bit PCM from MixMonitor, got {8 * w.getsampwidth()}-bit")
    if not frames:
        return 0
    out = store.open(key, channels=channels, sample_rate=rate)
    try:
        out.append(frames)
    finally:
        out.close()
    return round(len(frames) / (2 * channels) * 1000 / rate)
