"""G.711 mu-law / A-law and the codec table used on the RTP leg to Asterisk.

Why tables: encoding every 20 ms frame of every call must be cheap and exact. The tables are built
once at import from the ITU-T G.711 reference algorithm (the classic Sun ``g711.c``), vectorised
with numpy, and then frozen (read-only), so they are constants rather than shared mutable state.
``audioop`` is not used: it was removed from the standard library in Python 3.13.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from media.audio import as_int16

__all__ = [
    "CODECS",
    "SILENCE_ALAW_BYTE",
    "SILENCE_ALAW_FRAME",
    "SILENCE_ULAW_BYTE",
    "SILENCE_ULAW_FRAME",
    "Codec",
    "alaw_decode",
    "alaw_encode",
    "slin16_decode",
    "slin16_encode",
    "ulaw_decode",
    "ulaw_encode",
]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in the 14-bit domain the reference code works in
_SEG_ULAW_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)
_SEG_ALAW_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)

#: mu-law encodes digital zero as 0xFF; A-law as 0xD5 (0x00 with the even bits inverted).
SILENCE_ULAW_BYTE = 0xFF
SILENCE_ALAW_BYTE = 0xD5
#: One 20 ms frame at 8 kHz (160 samples) of silence, ready to send.
SILENCE_ULAW_FRAME = bytes([SILENCE_ULAW_BYTE]) * 160
SILENCE_ALAW_FRAME = bytes([SILENCE_ALAW_BYTE]) * 160


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _build_ulaw_encode_table() -> np.ndarray:
    """uint8[65536] indexed by the int16 sample reinterpreted as uint16."""
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = np.searchsorted(_SEG_ULAW_END, mag, side="left")
    uval = (seg << 4) | ((mag >> np.minimum(seg + 1, 8)) & 0x0F)
    uval = np.where(seg >= 8, 0x7F, uval)
    return _frozen((uval ^ mask).astype(np.uint8))


def _build_ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return _frozen(np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16))


def _build_alaw_encode_table() -> np.ndarray:
    pcm = np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_SEG_ALAW_END, mag, side="left")
    shift = np.where(seg < 2, 1, np.minimum(seg, 8))
    aval = (seg << 4) | ((mag >> shift) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    return _frozen((aval ^ mask).astype(np.uint8))


def _build_alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return _frozen(np.where(a & 0x80, t, -t).astype(np.int16))


_ULAW_ENC = _build_ulaw_encode_table()
_ULAW_DEC = _build_ulaw_decode_table()
_ALAW_ENC = _build_alaw_encode_table()
_ALAW_DEC = _build_alaw_decode_table()


def _index(pcm: np.ndarray) -> np.ndarray:
    return as_int16(pcm).view(np.uint16)


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """Encode int16 samples to G.711 mu-law bytes (one byte per sample)."""
    return _ULAW_ENC[_index(pcm)].tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    """Decode G.711 mu-law bytes to int16 samples."""
    return _ULAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def alaw_encode(pcm: np.ndarray) -> bytes:
    """Encode int16 samples to G.711 A-law bytes (one byte per sample)."""
    return _ALAW_ENC[_index(pcm)].tobytes()


def alaw_decode(data: bytes) -> np.ndarray:
    """Decode G.711 A-law bytes to int16 samples."""
    return _ALAW_DEC[np.frombuffer(data, dtype=np.uint8)]


def slin16_encode(pcm: np.ndarray) -> bytes:
    """Signed linear 16-bit BIG-endian: what Asterisk puts on RTP for ``slin16`` (network order)."""
    return as_int16(pcm).astype(">i2").tobytes()


def slin16_decode(data: bytes) -> np.ndarray:
    """Inverse of :func:`slin16_encode`; an odd byte count means a corrupt payload."""
    if len(data) % 2:
        raise ValueError(f"slin16 payload must have an even number of bytes, got {len(data)}")
    return np.frombuffer(data, dtype=">i2").astype(np.int16)


@dataclass(frozen=True)
class Codec:
    """How one RTP payload format maps to int16 PCM.

    ``sample_rate`` is also the RTP clock rate for every codec here (true for G.711 and L16).
    """

    name: str
    payload_type: int
    sample_rate: int
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes], np.ndarray]
    bytes_per_sample: int = 1

    def frame_samples(self, frame_ms: int = 20) -> int:
        """Samples in one packet of ``frame_ms`` (160 for 20 ms of G.711)."""
        return self.sample_rate * frame_ms // 1000

    def silence(self, samples: int) -> bytes:
        """Encoded digital silence (0xFF for mu-law, 0xD5 for A-law, zeros for slin16)."""
        return self.encode(np.zeros(samples, dtype=np.int16))


#: Payload types: 0/8 are static (RFC 3551); 118 is the dynamic PT Asterisk used for slin16 here.
#: Note: Asterisk *sends* slin16 over RTP but dropped slin16 sent *into* it (LAB.md), so the
#: ExternalMedia leg uses ulaw both ways.
#: Read-only mapping, so no caller can swap a codec under everyone else's feet.
CODECS: Mapping[str, Codec] = MappingProxyType(
    {
        "ulaw": Codec("ulaw", 0, 8000, ulaw_encode, ulaw_decode, 1),
        "alaw": Codec("alaw", 8, 8000, alaw_encode, alaw_decode, 1),
        "slin16": Codec("slin16", 118, 16000, slin16_encode, slin16_decode, 2),
    }
)
