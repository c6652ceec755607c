"""Transcript lines hold what was heard: whole sentences, and the played share of a cut one."""

from __future__ import annotations

import pytest

from media.pacer import PlaybackResult
from media.transcript import agent_line, heard


def played(frames: int, total: int, start: float | None, end: float, interrupted: bool = False) -> PlaybackResult:
    """`end`: when the playback was resolved; its last frame left 20 ms after the frame before it."""
    last = None if start is None or not frames else start + (frames - 1) * 0.02
    return PlaybackResult(frames, total, interrupted, start, end, last)


def test_a_reply_heard_in_full_is_one_line_from_its_first_packet_to_the_end_of_its_last():
    line = agent_line([("Hola.", played(50, 50, 10.0, 10.98)), ("¿Hablo con María?", played(60, 60, 11.0, 12.18))],
                      frame_s=0.02)
    assert line is not None
    assert (line.speaker, line.text, line.source, line.interrupted) == ("agent", "Hola. ¿Hablo con María?", "tts",
                                                                        False)
    assert line.start_at == 10.0 and line.end_at == pytest.approx(12.2)


def test_after_a_barge_in_only_the_played_share_is_kept():
    results = [("Entiendo su situación.", played(40, 40, 5.0, 5.78)),
               # paused at 6.4 s (the caller spoke over it), cut at 6.7 s when the barge-in was confirmed
               ("Le voy a explicar las opciones de pago.", played(30, 100, 5.8, 6.7, interrupted=True)),
               ("Tenemos tres.", played(0, 30, None, 6.7, interrupted=True))]
    assert heard(results) == ["Entiendo su situación.", "Le voy…"]
    line = agent_line(results, frame_s=0.02, interrupted=True)
    assert line is not None and line.text == "Entiendo su situación. Le voy…" and line.interrupted
    assert line.end_at == pytest.approx(6.4)  # when its audio stopped, not when the reply was dropped


def test_nothing_heard_is_no_line():
    assert agent_line([("Hola.", played(0, 50, None, 3.0, interrupted=True))], frame_s=0.02) is None
    assert agent_line([("Hola.", None)], frame_s=0.02) is None  # cancelled before it was played
    assert agent_line([], frame_s=0.02) is None
