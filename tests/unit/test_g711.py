"""G.711 against ITU-T reference values, round-trip error bounds and the codec table."""

from __future__ import annotations

import numpy as np
import pytest

from media.g711 import (
    CODECS,
    SILENCE_ALAW_FRAME,
    SILENCE_ULAW_FRAME,
    alaw_decode,
    alaw_encode,
    slin16_decode,
    slin16_encode,
    ulaw_decode,
    ulaw_encode,
)


def _enc(fn, *samples: int) -> list[int]:
    return list(fn(np.array(samples, dtype=np.int16)))


def test_ulaw_reference_values() -> None:
    assert _enc(ulaw_encode, 0, 32767, -32768, 1, -1, 10000, -10000) == [
        0xFF,
        0x80,
        0x00,
        0xFF,
        0x7E,
        0x9C,
        0x1C,
    ]
    # Decoder table values from G.711 (16-bit scaled): 0x00 is the most negative level.
    assert ulaw_decode(bytes([0x00, 0x80, 0xFF, 0x7F, 0xFE, 0x7E, 0x8F])).tolist() == [
        -32124,
        32124,
        0,
        0,
        8,
        -8,
        16764,
    ]


def test_alaw_reference_values() -> None:
    assert _enc(alaw_encode, 0, -1, 32767, -32768, 1000, -1000) == [0xD5, 0x55, 0xAA, 0x2A, 0xFA, 0x7A]
    assert alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A, 0x80, 0x00])).tolist() == [
        8,
        -8,
        32256,
        -32256,
        5504,
        -5504,
    ]


def test_decode_then_encode_is_identity_on_codes() -> None:
    codes = bytes(range(256))
    # mu-law has two zeros (0x7F is "negative zero"), which both come back as 0xFF.
    back = ulaw_encode(ulaw_decode(codes))
    assert [c for c in range(256) if back[c] != c] == [0x7F]
    assert alaw_encode(alaw_decode(codes)) == codes


@pytest.mark.parametrize(("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)])
def test_round_trip_error_on_a_sine(encode, decode) -> None:
    t = np.arange(8000) / 8000
    for amplitude in (1000, 8000, 30000):
        x = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        y = decode(encode(x)).astype(np.float64)
        err = y - x
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(err**2))
        assert snr > 33, f"SNR {snr:.1f} dB at amplitude {amplitude}"
        # Companding error never exceeds half a quantisation step (~3.2% of the level + floor).
        assert np.all(np.abs(err) <= 0.032 * np.abs(x) + 16)


def test_companding_is_monotonic() -> None:
    ramp = np.arange(-32768, 32768, 7, dtype=np.int32).astype(np.int16)
    assert np.all(np.diff(ulaw_decode(ulaw_encode(ramp)).astype(int)) >= 0)
    assert np.all(np.diff(alaw_decode(alaw_encode(ramp)).astype(int)) >= 0)


def test_slin16_is_big_endian() -> None:
    assert slin16_encode(np.array([1, -2, 0x1234], dtype=np.int16)) == b"\x00\x01\xff\xfe\x12\x34"
    assert slin16_decode(b"\x00\x01\xff\xfe\x12\x34").tolist() == [1, -2, 0x1234]
    assert slin16_decode(b"\x00\x01").dtype == np.int16
    with pytest.raises(ValueError, match="even"):
        slin16_decode(b"\x00\x01\x02")


def test_codec_table() -> None:
    ulaw, alaw, slin = CODECS["ulaw"], CODECS["alaw"], CODECS["slin16"]
    assert (ulaw.payload_type, ulaw.sample_rate, ulaw.frame_samples()) == (0, 8000, 160)
    assert (alaw.payload_type, alaw.sample_rate) == (8, 8000)
    assert (slin.payload_type, slin.sample_rate, slin.frame_samples(), slin.bytes_per_sample) == (
        118,
        16000,
        320,
        2,
    )
    assert ulaw.silence(160) == SILENCE_ULAW_FRAME == b"\xff" * 160
    assert alaw.silence(160) == SILENCE_ALAW_FRAME == b"\xd5" * 160
    assert slin.silence(320) == b"\x00" * 640
    x = (np.sin(np.arange(320) / 5) * 5000).astype(np.int16)
    assert np.array_equal(slin.decode(slin.encode(x)), x)
    with pytest.raises(TypeError):
        CODECS["ulaw"] = alaw  # type: ignore[index]


def test_float_input_is_refused() -> None:
    with pytest.raises(TypeError, match="integer"):
        ulaw_encode(np.zeros(10, dtype=np.float32))
    assert ulaw_encode(np.array([40000, -40000], dtype=np.int32)) == bytes([0x80, 0x00])  # saturates
