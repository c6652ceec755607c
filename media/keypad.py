"""DTMF keys gathered into entries, the way callers expect a phone menu to behave.

A menu answer ("marque 1") is one key and acts at once; a RUT is keyed digit by digit and ends
with '#' (or a pause). The agent says which it is waiting for (`Agent.keys_expected`): an entry
ends at '#', when it has that many keys, or `inter_digit_s` after the last key. A '#' with nothing
before it is ignored (callers press it out of habit).
"""

from __future__ import annotations

KEYS = frozenset("0123456789*#ABCD")
TERMINATOR = "#"


class KeypadEntry:
    def __init__(self, inter_digit_s: float = 3.0, max_keys: int = 20) -> None:
        self.inter_digit_s = inter_digit_s
        self.max_keys = max_keys  # a stuck key or a fax tone never grows an entry without end
        self._keys: list[str] = []
        self._last_at: float | None = None
        # First and last key (a '#' too) of the entry being typed, or of the one just completed: the
        # span of its transcript line.
        self.span: tuple[float, float] | None = None

    @property
    def pending(self) -> bool:
        """Keys have been pressed and the entry is not over: the caller is still typing."""
        return self._last_at is not None

    def ignores(self, key: str) -> bool:
        """Not part of any entry: not a DTMF key, or a '#' with nothing before it."""
        return key not in KEYS or (key == TERMINATOR and not self._keys)

    def press(self, key: str, now: float, expected: int) -> str | None:
        """Add a key; the finished entry (without '#') when this key ends it, else None."""
        if self.ignores(key):
            return None
        self.span = (self.span[0] if self.span and self.pending else now, now)
        if key == TERMINATOR:
            return self._take()
        self._keys.append(key)
        self._last_at = now
        if len(self._keys) >= min(max(expected, 1), self.max_keys):
            return self._take()
        return None

    def expire(self, now: float) -> str | None:
        """The entry, if the caller stopped typing `inter_digit_s` ago."""
        if self._last_at is not None and now - self._last_at >= self.inter_digit_s:
            return self._take()
        return None

    def _take(self) -> str:
        entry = "".join(self._keys)
        self._keys.clear()
        self._last_at = None
        return entry
