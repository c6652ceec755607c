"""Recorded lines for the lab phone, spoken by a neural voice (see make_voices.py)."""

from pathlib import Path

VOICES = Path(__file__).resolve().parent
