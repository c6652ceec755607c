"""The GPU bench runs anywhere: on a machine with no CUDA device it says so and exits 0; with one, it
measures and prints the latency and the real-time factor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.stt_gpu import NO_DEVICE, cuda_devices

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_gpu_bench_exits_0_and_says_whether_it_ran():
    proc = subprocess.run([sys.executable, "-m", "bench.stt_gpu"], cwd=ROOT, capture_output=True, text=True,
                          timeout=580, check=False)
    assert proc.returncode == 0, proc.stderr
    if cuda_devices() == 0:
        assert proc.stdout.strip() == NO_DEVICE
    else:
        assert "decode latency per utterance: median" in proc.stdout and "real-time factor" in proc.stdout
