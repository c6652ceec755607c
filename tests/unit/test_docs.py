"""The documentation keeps up with the code: every setting is in the settings table, the README stays a
quick start, and the guides' links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from ari_app.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "SECURITY.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def test_every_setting_is_in_the_settings_table() -> None:
    table = (REPO / "docs" / "configuration.md").read_text("utf-8")
    missing = [f.validation_alias for f in Settings.model_fields.values() if f"`{f.validation_alias}`" not in table]
    assert missing == [], "add these to docs/configuration.md"


def test_the_readme_stays_a_quick_start() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert len(readme.encode()) < 12_000, "the README is the quick start: move reference text into docs/"
    assert readme.index("make demo") < readme.index("## Status") and "make test" in readme.split("## Status")[0]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", FENCE.sub("", markdown), re.MULTILINE)}


def test_links_between_the_documents_lead_somewhere() -> None:
    broken = []
    for doc in DOCS:
        for target in LINK.findall(FENCE.sub("", doc.read_text("utf-8"))):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text("utf-8")):
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []
