"""Coqui TTS engine: every way of being misconfigured is a clear TtsError before the first call.

Synthesis itself needs the optional `coqui` extra (torch) and a model directory, neither of which
CI has (models are not on PyPI); those parts run when both are present (see the skip reason).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from media.tts import TtsError
from media.tts.coqui import INSTALL_HINT, CoquiTts, coqui_model_files


async def test_a_missing_model_directory_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match=r"does not exist \(set TTS_MODEL_PATH"):
        async with CoquiTts(tmp_path / "nowhere"):
            pass


async def test_an_incomplete_model_lists_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(TtsError, match=r"missing .*model\.pth"):
        coqui_model_files(tmp_path)
    (tmp_path / "config.json").unlink()
    (tmp_path / "best_model.pth").write_bytes(b"\\0")
    with pytest.raises(TtsError, match=r"missing .*config\.json"):
        coqui_model_files(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert coqui_model_files(tmp_path) == (tmp_path / "best_model.pth", tmp_path / "config.json")


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="the coqui extra is installed")
async def test_without_the_package_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.pth").write_bytes(b"\\0")
    tts = CoquiTts(tmp_path)
    with pytest.raises(TtsError, match="needs the Coqui TTS package") as failure:
        await tts.synthesize("Hola.")
    assert INSTALL_HINT in str(failure.value)
    await tts.aclose()
    with pytest.raises(TtsError, match="closed"):
        await tts.synthesize("Hola.")


@pytest.mark.skipif(importlib.util.find_spec("TTS") is None or not os.environ.get("COQUI_TEST_MODEL"),
                    reason="needs `pip install .[coqui]` and COQUI_TEST_MODEL=<model dir>")
async def test_speaks_spanish_with_a_local_model() -> None:
    async with CoquiTts(os.environ["COQUI_TEST_MODEL"]) as tts:
        clip = await tts.synthesize("Hola, buenas tardes.")
        assert clip.duration_s > 0.5
        assert await tts.synthesize("Hola,  buenas tardes.") is clip  # phrase cache
