"""One call's RTP endpoint: an asyncio UDP socket that Asterisk's ExternalMedia channel talks to.

Inbound packets are parsed, decoded, put back in order by a `JitterBuffer` (which also conceals
lost packets) and handed to `on_audio` synchronously on the event loop (the callee must only
enqueue). Outbound audio goes through an `RtpPacer`, which owns the
20 ms clock. The far end's address is learned from the first packet it sends (symmetric RTP,
which is what Asterisk expects), and may be set earlier from what Asterisk told us, so the
agent can speak before the caller's first packet arrives.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from media.g711 import Codec
from media.jitter import JitterBuffer, JitterFrame, JitterStats
from media.pacer import RtpPacer
from media.rtp import RtpError, RtpPacket, RtpStream

log = logging.getLogger(__name__)

AudioCallback = Callable[[np.ndarray], None]
Address = tuple[str, int]


@dataclass(slots=True)
class RtpReceiveStats:
    packets: int = 0
    bytes: int = 0
    malformed: int = 0
    foreign: int = 0  # packets with an unexpected payload type or from another source
    sequence_gaps: int = 0  # arrivals out of sequence (loss or reordering), before the jitter buffer
    first_packet_at: float | None = None
    last_packet_at: float | None = None
    jitter: JitterStats = field(default_factory=JitterStats)

    def as_dict(self) -> dict[str, object]:
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "malformed": self.malformed,
            "foreign": self.foreign,
            "sequence_gaps": self.sequence_gaps,
            **self.jitter.as_dict(),
        }


class RtpSession(asyncio.DatagramProtocol):
    """Owns the socket, the receive statistics and the outbound pacer of one call."""

    def __init__(self, codec: Codec, on_audio: AudioCallback | None = None) -> None:
        self.codec = codec
        self._on_audio = on_audio
        self._transport: asyncio.DatagramTransport | None = None
        self._loop = asyncio.get_running_loop()
        self.remote: Address | None = None
        self._only_from: tuple[str, int] | None = None  # the one source the far end announced
        self.stats = RtpReceiveStats()
        self.first_packet = asyncio.Event()
        self._last_seq: int | None = None
        self.jitter = JitterBuffer()
        self.stats.jitter = self.jitter.stats
        self._jitter_timer: asyncio.TimerHandle | None = None
        self.pacer = RtpPacer(self._send, codec, RtpStream(codec.payload_type, codec.sample_rate))

    # --- lifetime ------------------------------------------------------------------------
    @classmethod
    async def bind(
        cls,
        host: str,
        port_range: tuple[int, int],
        codec: Codec,
        on_audio: AudioCallback | None = None,
        attempts: int = 50,
    ) -> RtpSession:
        """Bind a free port in `port_range` (random probing, as RTP stacks do) and start the pacer."""
        loop = asyncio.get_running_loop()
        low, high = port_range
        last_error: OSError | None = None
        for _ in range(attempts):
            port = random.randrange(low, high + 1) & ~1  # RTP convention: even ports
            if port < low:
                port += 2
            try:
                _, session = await loop.create_datagram_endpoint(
                    lambda: cls(codec, on_audio), local_addr=(host, port)
                )
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
                last_error = exc
                continue
            session.pacer.start()
            return session
        raise OSError(f"no free RTP port in {low}-{high} after {attempts} tries: {last_error}")

    async def close(self) -> None:
        if self._jitter_timer is not None:
            self._jitter_timer.cancel()
        await self.pacer.stop()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def local_address(self) -> Address:
        assert self._transport is not None, "session not bound"
        return self._transport.get_extra_info("sockname")[:2]

    def set_remote(self, address: Address, *, only_source: bool = False) -> None:
        """Where to send until the far end's first packet tells us its real source. ``only_source``: the
        far end announced this address (Asterisk's UNICASTRTP_LOCAL_*): packets from anywhere else are
        dropped, so another host cannot take over the call's audio by sending first."""
        if self.remote is None:
            self.remote = address
        if only_source and address[0] not in ("0.0.0.0", "::"):
            self._only_from = (address[0], int(address[1]))

    # --- asyncio protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        now = self._loop.time()
        try:
            packet = RtpPacket.parse(data)
        except RtpError as exc:
            self.stats.malformed += 1
            if self.stats.malformed <= 3:
                log.warning("malformed RTP from %s: %s", addr, exc)
            return
        if packet.payload_type != self.codec.payload_type:
            self.stats.foreign += 1  # e.g. RFC 4733 DTMF events; handled elsewhere if at all
            return
        if self._only_from is not None and tuple(addr[:2]) != self._only_from:
            self.stats.foreign += 1
            if self.stats.foreign == 1:
                log.warning("RTP from %s ignored: the call's audio comes from %s", addr, self._only_from)
            return
        if self.stats.first_packet_at is None:
            self.stats.first_packet_at = now
            self.remote = addr  # symmetric RTP: answer where the packets come from
            self.first_packet.set()
        elif addr != self.remote:
            self.stats.foreign += 1
            return
        if self._last_seq is not None and packet.sequence != (self._last_seq + 1) & 0xFFFF:
            self.stats.sequence_gaps += 1
        self._last_seq = packet.sequence
        self.stats.packets += 1
        self.stats.bytes += len(data)
        self.stats.last_packet_at = now
        self._hand_on(self.jitter.push(packet.sequence, packet.ssrc, self.codec.decode(packet.payload), now))

    def _hand_on(self, frames: list[JitterFrame]) -> None:
        if self._on_audio is not None:
            for frame in frames:
                self._on_audio(frame.pcm)
        if self._jitter_timer is not None:
            self._jitter_timer.cancel()
            self._jitter_timer = None
        if (deadline := self.jitter.deadline) is not None:
            self._jitter_timer = self._loop.call_at(deadline, self._release_held)

    def _release_held(self) -> None:
        self._jitter_timer = None
        self._hand_on(self.jitter.poll(self._loop.time()))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable after Asterisk tore the channel down; harmless at hang-up.
        log.debug("RTP socket error: %s", exc)

    def _send(self, data: bytes) -> None:
        if self._transport is not None and self.remote is not None:
            self._transport.sendto(data, self.remote)
