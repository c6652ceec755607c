"""Sales scripts as data: the words of a sales call and the offer's facts, per product.

A script is a TOML file in `agent/sales/` (or in the operator's flows directory, `FLOWS_DIR`): its
`[prompts]` are plain Spanish with `{placeholders}`, its `[offer]` the product's figures the agent may
say (never invented ones). A sales campaign names its script in its flows (`{"*": "libranza"}`); the
lead's own spreadsheet columns win over `[offer]` for that lead.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from agent.flow import FlowError, check_templates, fill

__all__ = ["DEFAULT_SCRIPT", "REQUIRED_PROMPTS", "SalesScript", "bundled_scripts", "load_script"]

DEFAULT_SCRIPT = "libranza"
REQUIRED_PROMPTS = frozenset({
    "identity", "identity_again", "who_calls", "not_the_lead", "pitch", "conditions", "answer_amount", "answer_rate",
    "answer_term", "answer_requirements", "answer_what", "ask_more", "close_offer", "objection_has_credit",
    "objection_rate", "objection_no_need", "objection_debt", "objection_trust", "objection_think", "decline_once",
    "handoff", "no_interest_goodbye", "ask_callback_time", "callback_booked", "third_party_goodbye", "transfer",
    "virtual_assistant", "not_understood", "reprompt", "no_input_goodbye", "wrong_number", "stop_calling", "goodbye",
    "voicemail",
})
OFFER_FACTS = ("product", "rate", "max_amount", "term", "requirements")
# Prompts added after operators wrote their own scripts: a script without them gets these words.
DEFAULT_PROMPTS = {
    # The lead dialled back the number that called them (known by their number).
    "identity_called_in": "Hola, {greeting}, gracias por devolver la llamada a {company}. ¿Hablo con {first_name}?",
}


@dataclass(frozen=True, slots=True)
class SalesScript:
    name: str
    description: str
    prompts: Mapping[str, str]
    offer: Mapping[str, str]

    @classmethod
    def from_toml(cls, text: str, source: str = "script") -> SalesScript:
        data = tomllib.loads(text)
        prompts = {**DEFAULT_PROMPTS, **dict(data.get("prompts") or {})}
        if missing := REQUIRED_PROMPTS - set(prompts):
            raise FlowError(f"{source}: prompts missing: {', '.join(sorted(missing))}")
        offer = {str(k): str(v) for k, v in (data.get("offer") or {}).items()}
        if missing := [k for k in OFFER_FACTS if not offer.get(k)]:
            raise FlowError(f"{source}: [offer] lacks {', '.join(missing)}: the agent says only the operator's figures")
        check_templates(prompts, source)
        return cls(data.get("name", source), data.get("description", ""), prompts, offer)

    def say(self, key: str, variables: Mapping[str, str]) -> str:
        """The prompt with the variables filled in; an unknown variable leaves nothing behind."""
        return fill(self.prompts[key], variables)


@functools.cache
def bundled_scripts() -> dict[str, SalesScript]:
    scripts = {}
    for entry in resources.files("agent.sales").iterdir():
        if entry.name.endswith(".toml"):
            script = SalesScript.from_toml(entry.read_text("utf-8"), entry.name)
            scripts[script.name] = script
    return scripts


def load_script(name: str | None, directory: str | Path | None = None) -> SalesScript:
    """A script by name: the operator's directory first, then the bundled ones; no name: the default."""
    name = name or DEFAULT_SCRIPT
    if directory:
        path = Path(directory) / f"{name}.toml"
        if path.is_file():
            text = path.read_text("utf-8")
            if "[offer]" in text:  # the flows directory holds collection flows too
                return SalesScript.from_toml(text, str(path))
    scripts = bundled_scripts()
    if name not in scripts:
        raise FlowError(f"no sales script named {name!r} (bundled: {', '.join(sorted(scripts))})")
    return scripts[name]
