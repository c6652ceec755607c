"""The layout holds: every module's imports point down the layers, and no modules import each other.

Read from the source (ast), not by importing: an import inside a function counts as much as one at
the top (hiding a cycle in a function is still a cycle). The rules are the layout table in docs/architecture.md.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("countries", "media", "agent", "campaigns", "analysis", "api", "ari_app")

# What each package may import from the others: a package name allows all of it, a dotted name only
# that module. Everything not listed is forbidden; a package may always import itself.
ALLOWED: dict[str, tuple[str, ...]] = {
    "countries": (),  # ids, names, zones, legal profiles, money words: the bottom
    "media": (),  # voice in and out: no brain, no ARI, no database, no country
    # The brain implements media's `Responder`, counts its LLM use into media's per-call usage, and
    # folds text as the end-of-turn rules do (one definition of Spanish text folding).
    "agent": ("countries", "media.responder", "media.usage", "media.text"),
    # The domain and PostgreSQL. `agent.vocabulary` is the tools' and call results' names (what the
    # domain stores in call_attempts.result): it imports nothing of the project, so it adds no edge
    # back into the brain. `agent.record_bounds` is the one definition of the bounds a promise must meet,
    # which the record enforces and the agent negotiates within; it imports only the vocabulary and
    # media's `ActionResult` (a plain dataclass). Nothing else of `agent` is allowed.
    "campaigns": ("countries", "agent.vocabulary", "agent.record_bounds", "media.responder"),
    "analysis": ("countries", "agent", "campaigns"),
    # The API is over the domain; it reads the analyses' queue and serves recordings from their store,
    # and names call results with the same vocabulary as the domain (`agent.vocabulary`, as above).
    # It also exports the event loop's lag (`media.loop_lag`, measured by the process that serves it).
    "api": ("countries", "campaigns", "agent.vocabulary", "analysis.store", "media.recordings", "media.loop_lag"),
    "ari_app": PACKAGES,  # the composition root wires everything
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module `name` refers to (an imported name may be a function: its module then)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports, wherever the import statement is."""
    path = MODULES[module]
    return imports_in(path.read_text("utf-8"), module, is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for name in names:
            if (target := _resolve(name)) is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def allowed(importer: str, imported: str) -> bool:
    source, target = importer.split(".")[0], imported.split(".")[0]
    if source == target:
        return True
    return any(imported == rule or imported.startswith(rule + ".") for rule in ALLOWED[source])


def test_every_package_is_found() -> None:
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    assert len(MODULES) > 100  # the walk found the tree, not an empty folder


def test_imports_point_down_the_layers() -> None:
    wrong = sorted(f"{a} imports {b}" for a, targets in GRAPH.items() for b in targets if not allowed(a, b))
    assert wrong == []


def test_the_vocabulary_imports_nothing_of_the_project() -> None:
    # What makes it safe for `campaigns` and `api` to import: it cannot pull the rest of `agent` in.
    assert GRAPH["agent.vocabulary"] == set()


def test_the_promise_bounds_import_only_the_vocabulary_and_the_action_result() -> None:
    # What makes it safe for `campaigns` to import them: they pull in no brain and no audio.
    assert GRAPH["agent.record_bounds"] <= {"agent.vocabulary", "media.responder"}


def test_no_import_cycles() -> None:
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize(("importer", "imported", "verdict"), [
    ("media.conversation", "agent.rule_agent", False),
    ("campaigns.policy", "ari_app.app", False),
    ("agent.llm", "media.usage", True),
    ("agent.llm", "media.pacer", False),
    ("api.server", "analysis.store", True),
    ("api.server", "analysis.rules", False),
    ("campaigns.actions", "agent.vocabulary", True),
    ("campaigns.actions", "agent.tools", False),
    ("api.followups", "agent.vocabulary", True),
    ("api.followups", "agent.rule_agent", False),
    ("ari_app.app", "api.server", True),
])
def test_the_rules_themselves(importer: str, imported: str, verdict: bool) -> None:
    assert allowed(importer, imported) is verdict


def test_the_checker_sees_imports_inside_functions_and_relative_ones() -> None:
    # media.tts once imported its worker module inside three methods to hide a cycle: that counts.
    source = ("def f():\n    from agent.flow import load_flow\n    import campaigns.db\n"
              "from . import vad\nfrom .audio import AudioClip\nimport numpy\n")
    assert imports_in(source, "media.segmenter") == {"agent.flow", "campaigns.db", "media.vad", "media.audio"}
    assert not allowed("media.segmenter", "agent.flow")


MAX_LINES = 400


def test_modules_stay_small_or_say_why() -> None:
    """A module past ~400 lines is asking to be split; one that stays longer says why in a `# Size:` comment."""
    long = {module: n for module, path in MODULES.items()
            if (n := len(path.read_text("utf-8").splitlines())) > MAX_LINES}
    unexplained = sorted(m for m in long if "# Size:" not in MODULES[m].read_text("utf-8"))
    assert unexplained == []


def _layout_table() -> list[str]:
    readme = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    section = readme[readme.index("## Code layout"):]
    section = section[: section.index("\n### ")]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_the_layout_table_matches_the_tree() -> None:
    rows = _layout_table()
    named = {path for row in rows for path in re.findall(r"`([\w./*-]+/(?:[\w.*-]+)?)`", row.split(" | ")[0])}
    for package in PACKAGES:  # every package has its row
        assert any(row.startswith(f"| `{package}/") for row in rows), package
    missing = sorted(p for p in named if not list(ROOT.glob(p.rstrip("/"))))
    assert missing == []
    # A row about one folder names its modules: each is in that folder (or below it).
    unknown = []
    for row in rows:
        folder = re.fullmatch(r"\| `([\w/]+/)`", row.split(" | ")[0])
        if folder:
            unknown += [f"{folder.group(1)}{name}" for name in re.findall(r"`(\w+\.py)`", row)
                        if not list((ROOT / folder.group(1)).rglob(name))]
    assert unknown == []


def test_packaging_and_the_image_carry_every_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8")
    include = re.search(r"include = \[(.*?)\]", pyproject).group(1)
    assert {name.strip(' "*') for name in include.split(",")} == set(PACKAGES)
    dockerfile = (ROOT / "ari_app" / "Dockerfile").read_text("utf-8")
    assert {m for m in re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE)} == set(PACKAGES)
