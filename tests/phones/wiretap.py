"""`LoopbackTap`: the RTP a lab phone sends and receives, with the kernel's arrival times.

baresip's recordings (`-enc.wav`, `-dec.wav`) say what the phone sent and heard, but not *when*
relative to each other: each file starts at its own first frame. The tap watches the phone's RTP
ports on the loopback interface (an AF_PACKET socket, so it needs root or CAP_NET_RAW, which
the lab has) and stamps every packet with the kernel's receive time (SO_TIMESTAMPNS): the common
clock that lines the two directions up.

    with LoopbackTap(ports=range(20000, 21000)) as tap:
        ...the call...
    sent, heard = tap.streams()  # each a list of TappedPacket (kernel time, ports, RTP packet)
    loud = loud_times(heard)      # when the phone received audible audio
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass
from typing import Self

import numpy as np

from media.g711 import CODECS, Codec
from media.rtp import RtpError, RtpPacket
from media.vad import rms_dbfs

_ETH_P_IP = 0x0800
_PACKET_HOST = 0  # loopback shows each packet twice (outgoing and host): keep one
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_AUDIO_PAYLOAD_TYPES = {codec.payload_type for codec in CODECS.values()}


@dataclass(frozen=True)
class TappedPacket:
    at_s: float  # kernel receive time (CLOCK_REALTIME seconds)
    src_port: int
    dst_port: int
    rtp: RtpPacket


class LoopbackTap:
    def __init__(self, ports: range) -> None:
        self._ports = ports
        self._packets: list[TappedPacket] = []
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(_ETH_P_IP))
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("lo", 0))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._capture, name="loopback-tap", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()

    def _capture(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self._sock.recvmsg(2048, 64)
            except TimeoutError:
                continue
            except OSError:
                return
            if address[2] != _PACKET_HOST:
                continue
            packet = self._parse(data, ancillary)
            if packet is not None:
                self._packets.append(packet)

    def _parse(self, data: bytes, ancillary: list) -> TappedPacket | None:
        if len(data) < 28 or data[0] >> 4 != 4 or data[9] != socket.IPPROTO_UDP:
            return None
        header = (data[0] & 0x0F) * 4
        src, dst = struct.unpack_from("!HH", data, header)
        if src not in self._ports and dst not in self._ports:
            return None
        try:
            rtp = RtpPacket.parse(data[header + 8:])
        except RtpError:
            return None  # SIP on a neighbouring port
        if rtp.payload_type not in _AUDIO_PAYLOAD_TYPES:
            return None  # RTCP (200-204 parse as RTP with PT 72-76), DTMF events
        at = next((struct.unpack("qq", d[:16]) for level, kind, d in ancillary
                   if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS), None)
        if at is None:
            return None
        return TappedPacket(at[0] + at[1] / 1e9, src, dst, rtp)

    def streams(self) -> tuple[list[TappedPacket], list[TappedPacket]]:
        """(sent by the phone, received by the phone), in arrival order."""
        packets = list(self._packets)
        sent = [p for p in packets if p.src_port in self._ports]
        heard = [p for p in packets if p.dst_port in self._ports]
        return sent, heard


def stream_pcm(packets: list[TappedPacket], codec: Codec = CODECS["ulaw"]) -> np.ndarray:
    """The audio of one direction, in arrival order (loopback neither loses nor reorders)."""
    if not packets:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([codec.decode(p.rtp.payload) for p in packets])


def loud_times(packets: list[TappedPacket], threshold_dbfs: float = -45.0,
               codec: Codec = CODECS["ulaw"]) -> list[float]:
    """Arrival times of the packets carrying audible audio (speech sits near -20 dBFS, silence is -inf)."""
    return [p.at_s for p in packets if rms_dbfs(codec.decode(p.rtp.payload)) > threshold_dbfs]
