"""The deployment files keep up with the code: every setting documented in .env.example (compose reads
it as .env), and the app image's pinned versions (deploy/constraints.txt) covering pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ari_app.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_every_setting_of_the_app_is_in_env_example():
    documented = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    settings = {field.validation_alias for field in Settings.model_fields.values()}
    assert settings - documented == set(), "add these to .env.example (and docs/deploy-compose.md)"


def test_the_settings_compose_requires_are_in_env_example():
    compose = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", compose))
    uncommented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    assert required and required - uncommented == set()


def test_the_image_constraints_pin_every_dependency_within_its_range():
    pins = {}
    for line in (REPO / "deploy" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    regenerate = ".venv/bin/python deploy/freeze-constraints.py > deploy/constraints.txt"
    for dependency in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        req = Requirement(dependency)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned for the image: {regenerate}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} vs {pins[name]}: {regenerate}"
