"""The second, blind spoken test set (``make_blind2.py``); read it with ``load_set(root=BLIND2)``."""

from pathlib import Path

BLIND2 = Path(__file__).resolve().parent
