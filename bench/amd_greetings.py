"""Benchmark: Asterisk's answering-machine detection on Spanish phone greetings, per amd.conf setting.

Each greeting in bench/amd_set (people: "¿Aló?", "Aló, ¿sí?", "¿Diga?", "¿Bueno?", "Aló, buenas
tardes", "Sí, ¿quién habla?" in three voices; voicemail greetings with their beep in two) is played
by a lab phone (baresip) that answers a campaign call of the real app with answering-machine
detection on: the call goes through the dialplan's [outbound-amd], AMD() judges it with the
amd.conf in force, and the app takes the verdict as it would on a campaign (`AmdVerdict.machine`:
a silent line counts as a person). For each setting the bench writes amd.conf into the lab's
Asterisk, reloads app_amd, and prints:

  false-machine rate   people judged a machine (the call is dropped or a message left: a lost contact)
  missed-machine rate  voicemails judged a person (the agent talks to a mailbox)

and each call's AMDSTATUS/AMDCAUSE. The rendered amd.conf is put back at the end.

Run as root with the lab up, alone on it: `flock /tmp/lab.lock python -m bench.amd_greetings`
(`--settings sample,words3` for a few; `--lead 0.5` seconds before a person speaks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ari_app.app import CallCenterApp
from ari_app.settings import Settings
from bench.amd_set import GREETINGS
from media.audio import AudioClip, read_wav, write_wav
from tests.phones.baresip import BaresipPhone

NUMBER = "+56955550199"  # the lab phone answers the trunk as this number
ROOT = Path(os.environ.get("ASTERISK_ROOT", Path.home() / ".cache/asterisk-ai-callcenter/asterisk-root"))
AMD_CONF = ROOT / "etc/asterisk/amd.conf"
KEYS = ("initial_silence", "greeting", "after_greeting_silence", "total_analysis_time", "min_word_length",
        "between_words_silence", "maximum_number_of_words", "silence_threshold", "maximum_word_length")
SAMPLE = dict(zip(KEYS, (2500, 1500, 800, 5000, 100, 50, 2, 256, 5000), strict=True))
# Each a change from Asterisk's sample values, named for it.
SETTINGS: dict[str, dict[str, int]] = {
    "sample": SAMPLE,
    "words3": {**SAMPLE, "maximum_number_of_words": 3},
    "words3-greeting2000": {**SAMPLE, "maximum_number_of_words": 3, "greeting": 2000},
    "words4-greeting2500": {**SAMPLE, "maximum_number_of_words": 4, "greeting": 2500},
    "words3-greeting2000-after1200": {**SAMPLE, "maximum_number_of_words": 3, "greeting": 2000,
                                      "after_greeting_silence": 1200},
    "words3-greeting2000-minword120-between80": {**SAMPLE, "maximum_number_of_words": 3, "greeting": 2000,
                                                 "min_word_length": 120, "between_words_silence": 80},
    "words3-greeting2000-threshold384": {**SAMPLE, "maximum_number_of_words": 3, "greeting": 2000,
                                         "silence_threshold": 384},
    "words3-greeting2000-threshold512": {**SAMPLE, "maximum_number_of_words": 3, "greeting": 2000,
                                         "silence_threshold": 512},
    "words4-greeting2500-threshold512": {**SAMPLE, "maximum_number_of_words": 4, "greeting": 2500,
                                         "silence_threshold": 512},
}


@dataclass(frozen=True, slots=True)
class Trial:
    setting: str
    greeting: str
    machine: bool  # what it is
    judged_machine: bool | None  # what the app made of the verdict; None: no verdict
    verdict: str


def amd_conf(values: dict[str, int]) -> str:
    return "[general]\n" + "".join(f"{k} = {values[k]}\n" for k in KEYS)


def apply(conf: str) -> None:
    """Put `conf` in force in the lab's Asterisk (blocking: run it in a thread)."""
    AMD_CONF.write_text(conf)
    subprocess.run(["chroot", str(ROOT), "/usr/sbin/asterisk", "-rx", "module reload app_amd.so"],
                   check=True, capture_output=True, timeout=10)


def line_noise(wav: Path, lead_s: float, total_s: float, noise_dbfs: float, seed: int, dst: Path) -> Path:
    """The greeting after `lead_s` on a line with background noise (white, phone band) at `noise_dbfs`
    RMS from the answer to the end: a street, a car, a busy room."""
    clip = read_wav(wav)
    rate = clip.sample_rate
    x = np.zeros(round(total_s * rate))
    start = round(lead_s * rate)
    x[start:start + len(clip.pcm)] = clip.pcm
    noise = np.random.default_rng(seed).normal(size=len(x))
    noise = np.convolve(noise, np.ones(3) / 3, mode="same")  # a little less hiss: phones roll off the top
    noise *= 32768 * 10 ** (noise_dbfs / 20) / np.sqrt(np.mean(noise**2))
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_wav(dst, AudioClip(np.clip(np.rint(x + noise), -32768, 32767).astype(np.int16), rate))
    return dst


async def one_call(app: CallCenterApp, wav: Path, lead_s: float, workdir: Path,
                   noise_dbfs: float | None = None) -> tuple[bool | None, str]:
    total_s = lead_s + 15
    if noise_dbfs is None:
        phone = BaresipPhone(wav, workdir=workdir, speak_after_s=lead_s)
    else:
        noisy = line_noise(wav, lead_s, total_s, noise_dbfs, zlib.crc32(wav.stem.encode()), workdir / "noisy.wav")
        phone = BaresipPhone(noisy, workdir=workdir)
    with phone.answer(NUMBER, hangup_after_s=total_s):
        call = app.dialer.dial(NUMBER, answering_machine="hangup")
        await asyncio.wait_for(call.finished.wait(), 40)
    check = call.machine_check
    verdict = check.verdict if check else None
    if verdict is None:
        return None, f"no verdict ({call.outcome})"
    return verdict.machine, f"{verdict.status} {verdict.cause}".strip()


async def run(names: list[str], lead_s: float, workdir: Path, pattern: str = "*",
              noise_dbfs: float | None = None) -> list[Trial]:
    original = AMD_CONF.read_text()
    greetings = sorted(GREETINGS.glob(f"{pattern}.wav"))
    trials: list[Trial] = []
    settings = Settings(GREETING="Hola.", AGENT_MODE="greeting", RECORD_CALLS="false")
    try:
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            for name in names:
                await asyncio.to_thread(apply, amd_conf(SETTINGS[name]))
                for i, wav in enumerate(greetings):
                    judged, verdict = await one_call(app, wav, lead_s, workdir / f"{name}-{i}", noise_dbfs)
                    trials.append(Trial(name, wav.stem, wav.stem.startswith("machine-"), judged, verdict))
                    print(f"  {name:42} {wav.stem:36} {verdict}", flush=True)
    finally:
        await asyncio.to_thread(apply, original)
    return trials


def table(trials: list[Trial]) -> str:
    by: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        by[t.setting].append(t)
    rows = ["| setting | false-machine (people judged machine) | missed-machine (voicemail judged person) |",
            "|---|---|---|"]
    for name, ts in by.items():
        people = [t for t in ts if not t.machine]
        machines = [t for t in ts if t.machine]
        false_machine = sum(t.judged_machine is True for t in people)
        missed = sum(t.judged_machine is not True for t in machines)
        rows.append(f"| {name} | {false_machine}/{len(people)} ({100 * false_machine / max(1, len(people)):.0f} %) "
                    f"| {missed}/{len(machines)} ({100 * missed / max(1, len(machines)):.0f} %) |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated names: " + ", ".join(SETTINGS))
    parser.add_argument("--lead", type=float, default=0.5, help="seconds of quiet before the greeting")
    parser.add_argument("--greetings", default="*", help="which greetings (a glob on the names, e.g. 'person-alo-*')")
    parser.add_argument("--noise-dbfs", type=float, default=None,
                        help="background noise on the line (e.g. -42); none by default")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/amd-bench"))
    args = parser.parse_args()
    names = [n for n in args.settings.split(",") if n]
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings: {unknown}")
    trials = asyncio.run(run(names, args.lead, args.workdir, args.greetings, args.noise_dbfs))
    print()
    print(table(trials))
    for name in names:
        print(f"\n{name}: " + ", ".join(f"{k}={v}" for k, v in SETTINGS[name].items() if SAMPLE[k] != v or name == "sample"))


if __name__ == "__main__":
    main()
