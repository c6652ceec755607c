"""The classification categories of a call, as data: each with its allowed values and a fallback.

A scheme is read from TOML (the bundled `classification.toml`, or an operator's file by path) and
checked once when loaded, so a typo in a category is a start-up error and not a stream of rejected
analyses. Every consumer goes through the scheme: the LLM's JSON schema is built from it, a
document's classification is validated against it, and the rule analyzer's guesses are reduced to
it (a guess outside a category's list becomes that category's fallback), so no value outside the
lists can reach the database whoever produced it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Category", "ClassificationConfigError", "ClassificationScheme", "load_classification"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class ClassificationConfigError(ValueError):
    """The classification file is not usable; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    description: str
    values: tuple[str, ...]
    fallback: str


@dataclass(frozen=True, slots=True)
class ClassificationScheme:
    categories: tuple[Category, ...]
    source: str = "classification.toml"

    @classmethod
    def from_toml(cls, text: str, source: str) -> ClassificationScheme:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ClassificationConfigError(f"{source}: not valid TOML: {exc}") from exc
        table = data.get("categories")
        if not isinstance(table, dict) or not table:
            raise ClassificationConfigError(f"{source}: needs at least one [categories.NAME] table")
        return cls(tuple(_category(source, name, spec) for name, spec in table.items()), source)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.categories)

    def category(self, name: str) -> Category:
        for c in self.categories:
            if c.name == name:
                return c
        raise KeyError(name)

    def fallbacks(self) -> dict[str, str]:
        return {c.name: c.fallback for c in self.categories}

    def problems(self, classification: Any) -> list[str]:
        """What is wrong with `classification` (empty: valid): every category once, each from its list."""
        if not isinstance(classification, Mapping):
            return [f"classification must be an object, got {type(classification).__name__}"]
        found = []
        for c in self.categories:
            value = classification.get(c.name)
            if c.name not in classification:
                found.append(f"classification.{c.name} is missing")
            elif not isinstance(value, str) or value not in c.values:
                found.append(f"classification.{c.name} = {value!r} is not one of {list(c.values)}")
        extra = sorted(str(k) for k in classification if k not in self.names)
        if extra:
            found.append(f"classification has unknown categories {extra}; known: {list(self.names)}")
        return found

    def reduce(self, guesses: Mapping[str, str]) -> dict[str, str]:
        """One value per category: the guess when the category allows it, its fallback otherwise.

        Categories the guesser knows nothing about (an operator's own) get their fallback; guesses
        for categories this scheme lacks are dropped.
        """
        return {c.name: g if (g := guesses.get(c.name)) in c.values else c.fallback for c in self.categories}

    def json_schema(self) -> dict[str, Any]:
        """The classification object as JSON Schema, in the subset strict structured outputs accept."""
        return {
            "type": "object",
            "properties": {c.name: {"type": "string", "enum": list(c.values), "description": c.description}
                           for c in self.categories},
            "required": list(self.names),
            "additionalProperties": False,
        }

    def describe(self) -> str:
        """The categories for a prompt: one line each, with the values and the fallback."""
        return "\n".join(f"- {c.name}: {c.description} Valores: {', '.join(c.values)}. "
                         f"Si la llamada no lo dice: {c.fallback}." for c in self.categories)


def _category(source: str, name: str, spec: Any) -> Category:
    where = f"{source}: category {name!r}"
    if not _NAME_RE.match(name):
        raise ClassificationConfigError(f"{where}: names are lower_snake_case (a-z, 0-9, _)")
    if not isinstance(spec, dict):
        raise ClassificationConfigError(f"{where}: must be a table with values and fallback")
    unknown = sorted(set(spec) - {"description", "values", "fallback"})
    if unknown:
        raise ClassificationConfigError(f"{where}: unknown keys {unknown}")
    values = spec.get("values")
    if (not isinstance(values, list) or not values
            or not all(isinstance(v, str) and _NAME_RE.match(v) for v in values)):
        raise ClassificationConfigError(f"{where}: values must be a non-empty list of lower_snake_case strings")
    if len(set(values)) != len(values):
        raise ClassificationConfigError(f"{where}: values are repeated")
    fallback = spec.get("fallback")
    if fallback not in values:
        raise ClassificationConfigError(f"{where}: fallback {fallback!r} must be one of its values {values}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ClassificationConfigError(f"{where}: description must be a string")
    return Category(name, description.strip(), tuple(values), fallback)


def load_classification(path: str | Path | None = None) -> ClassificationScheme:
    """The operator's scheme at `path`, or the bundled one when `path` is empty."""
    if not path:
        text = resources.files("analysis").joinpath("classification.toml").read_text("utf-8")
        return ClassificationScheme.from_toml(text, "classification.toml (bundled)")
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise ClassificationConfigError(f"cannot read the classification file {file}: {exc}") from exc
    return ClassificationScheme.from_toml(text, str(file))
