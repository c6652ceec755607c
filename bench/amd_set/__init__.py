"""Recorded phone greetings, people's and voicemails', for the answering-machine bench (see make_greetings.py)."""

from pathlib import Path

GREETINGS = Path(__file__).resolve().parent
