"""The telephony side of a call's audio: an ExternalMedia channel bridged to the caller.

Asterisk's ExternalMedia channel streams the bridge's audio as RTP to our `RtpSession` and
plays whatever RTP we send back into the bridge. Setup order matters: bind our socket first
(so no early packet is lost), then create the ExternalMedia channel pointing at it, then
bridge both channels.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from ari_app.ari import AriClient, AriError
from media.g711 import CODECS
from media.rtp_session import AudioCallback, RtpSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaConfig:
    rtp_host: str
    port_range: tuple[int, int]
    audio_format: str  # ExternalMedia format, also our codec name: "ulaw" | "alaw"


class CallMedia:
    """ExternalMedia channel + mixing bridge + our RTP socket, created and torn down together."""

    def __init__(self, ari: AriClient, call_channel_id: str, config: MediaConfig) -> None:
        self._ari = ari
        self._config = config
        self.call_channel_id = call_channel_id
        self.media_channel_id = f"{call_channel_id}-media"
        self.bridge_id = f"{call_channel_id}-bridge"
        self.session: RtpSession | None = None
        self.asterisk_rtp: tuple[str, int] | None = None
        self.setup_ms: float | None = None
        # Set by the call when the ExternalMedia channel's own StasisStart arrives: the channel
        # object comes back from the REST call a moment before it is in Stasis, and bridging it
        # earlier fails with 422 "Channel not in Stasis application" (seen about 1 call in 20).
        self.media_in_stasis = asyncio.Event()

    async def open(self, on_audio: AudioCallback | None = None) -> RtpSession:
        started = time.perf_counter()
        codec = CODECS[self._config.audio_format]
        self.session = await RtpSession.bind(self._config.rtp_host, self._config.port_range, codec, on_audio)
        host, port = self.session.local_address
        channel = await self._ari.external_media(
            channel_id=self.media_channel_id,
            external_host=f"{host}:{port}",
            audio_format=self._config.audio_format,
        )
        # Asterisk tells us the address its RTP comes from; sending there lets the agent speak
        # before the caller's first packet arrives (callers often wait in silence for a greeting).
        address = channel.channelvars.get("UNICASTRTP_LOCAL_ADDRESS")
        rtp_port = channel.channelvars.get("UNICASTRTP_LOCAL_PORT")
        if address and rtp_port:
            self.asterisk_rtp = (address, int(rtp_port))
            self.session.set_remote(self.asterisk_rtp, only_source=True)
        await self._ari.create_bridge(self.bridge_id, "mixing")
        await asyncio.wait_for(self.media_in_stasis.wait(), 5.0)
        await self._ari.add_to_bridge(self.bridge_id, self.call_channel_id, self.media_channel_id)
        self.setup_ms = (time.perf_counter() - started) * 1000
        return self.session

    def diagnostics(self) -> dict[str, object]:
        """What an engineer needs when a call has no audio."""
        info: dict[str, object] = {
            "media_channel": self.media_channel_id,
            "bridge": self.bridge_id,
            "asterisk_rtp": f"{self.asterisk_rtp[0]}:{self.asterisk_rtp[1]}" if self.asterisk_rtp else None,
        }
        if self.session is not None:
            host, port = self.session.local_address
            info["local_rtp"] = f"{host}:{port}"
            info["rtp_in"] = self.session.stats.as_dict()
            info["rtp_out_packets"] = self.session.pacer.packets_sent
        return info

    async def close(self) -> None:
        """Tear down whatever was created; every step tolerates the call already being gone."""
        if self.session is not None:
            await self.session.close()
        for step in (self._ari.hangup(self.media_channel_id), self._ari.destroy_bridge(self.bridge_id)):
            try:
                await step
            except AriError as exc:
                log.warning("media teardown: %s", exc)
