"""The rendered human agents' queue: its members, its wait, its hold music (asterisk/lab/render-config.sh)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from media.audio import read_wav
from media.vad import rms_dbfs

ROOT = Path(__file__).resolve().parents[2]


def render(out: Path, **env: str) -> Path:
    run = subprocess.run(["bash", str(ROOT / "asterisk/lab/render-config.sh"), str(out)], check=False,
                         capture_output=True, text=True, env={**os.environ, **env}, timeout=60)
    assert run.returncode == 0, run.stderr
    return out


def test_the_queue_has_one_member_per_device_of_human_agents(tmp_path) -> None:
    out = render(tmp_path, HUMAN_AGENTS="PJSIP/2001&PJSIP/2002&PJSIP/2003", HUMAN_QUEUE_TIMEOUT="40")
    queues = (out / "queues.conf").read_text()
    assert re.findall(r"^member => (\S+)$", queues, re.MULTILINE) == ["PJSIP/2001", "PJSIP/2002", "PJSIP/2003"]
    assert "musicclass = callcenter-hold" in queues
    dialplan = (out / "extensions.conf").read_text()
    assert "Queue(human-agents,,,,40)" in dialplan
    # Recorded only while bridged to a person, and stopped before a caller goes back to the app.
    assert dialplan.index("MixMonitor(") < dialplan.index("Queue(") < dialplan.index("StopMixMonitor()")
    modules = (out / "modules.conf").read_text()
    assert "noload => app_queue.so" not in modules and "noload => res_musiconhold.so" not in modules


def test_the_hold_music_is_made_at_render_time_and_is_heard(tmp_path) -> None:
    out = render(tmp_path)
    assert "entry = /etc/asterisk/callcenter-hold" in (out / "musiconhold.conf").read_text()
    music = read_wav(out / "callcenter-hold.wav")
    assert music.sample_rate == 8000 and music.duration_s > 3
    assert rms_dbfs(music.pcm) > -30
