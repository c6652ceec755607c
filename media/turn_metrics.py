"""The marks of one caller turn: what was heard, what the agent said and when, for the record and tuning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TurnMetrics:
    """The marks of one caller turn, in the event loop's clock (seconds)."""

    index: int
    user_text: str = ""
    confidence: float | None = None
    speech_end_at: float | None = None
    end_detected_at: float | None = None  # when the segmenter's hang-over ran out
    stt_final_at: float | None = None
    agent_first_output_at: float | None = None
    tts_first_audio_at: float | None = None
    first_rtp_out_at: float | None = None
    agent_planned: list[str] = field(default_factory=list)
    agent_spoken: list[str] = field(default_factory=list)
    tool_calls: list[str] = field(default_factory=list)
    interrupted: bool = False
    turn_rule: str = ""
    stt_speculative: bool = False  # the transcript came from a decode started during the pause
    heard_raw: str | None = None  # the recogniser's words when the correction stage changed them
    stt_doubts: list[str] = field(default_factory=list)  # critical words the correction stage doubted
    heard: list[Any] = field(default_factory=list, repr=False)  # the turn's transcripts (media.stt.Transcript)
    retracted: bool = False  # it turned out to be a pause mid-sentence (media.conversation): not a turn

    @property
    def voice_to_voice_ms(self) -> float | None:
        if self.speech_end_at is None or self.first_rtp_out_at is None:
            return None
        return round((self.first_rtp_out_at - self.speech_end_at) * 1000, 1)

    def as_dict(self) -> dict[str, Any]:
        def since_end(at: float | None) -> float | None:
            if at is None or self.speech_end_at is None:
                return None
            return round((at - self.speech_end_at) * 1000, 1)

        return {
            "index": self.index,
            "user_text": self.user_text,
            "confidence": self.confidence,
            "end_detected_ms": since_end(self.end_detected_at),
            "stt_final_ms": since_end(self.stt_final_at),
            "agent_first_output_ms": since_end(self.agent_first_output_at),
            "tts_first_audio_ms": since_end(self.tts_first_audio_at),
            "first_rtp_out_ms": since_end(self.first_rtp_out_at),
            "voice_to_voice_ms": self.voice_to_voice_ms,
            "agent_planned": " ".join(self.agent_planned),
            "agent_spoken": " ".join(self.agent_spoken),
            "tool_calls": self.tool_calls,
            "interrupted": self.interrupted,
            "turn_rule": self.turn_rule,
            "stt_speculative": self.stt_speculative,
            "heard_raw": self.heard_raw,
            "stt_doubts": list(self.stt_doubts),
        }
