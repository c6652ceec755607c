"""Benchmark: outbound RTP pacing jitter with 1, 10 and 30 concurrent calls on one event loop.

Each call is an `RtpPacer` sending a long clip over real UDP on loopback to a receiver socket.
Jitter is the deviation of each packet's send time from its ideal 20 ms grid slot, measured at
the pacer's send callback (what the event loop controls). Prints p50/p99/max in ms per load.
Run: `python -m bench.pacing_jitter [--seconds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import numpy as np

from media.audio import AudioClip
from media.g711 import CODECS
from media.pacer import RtpPacer


async def measure(calls: int, seconds: float) -> np.ndarray:
    loop = asyncio.get_running_loop()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    target = sink.getsockname()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.setblocking(False)
    stamps: list[list[float]] = [[] for _ in range(calls)]

    def make_send(i: int):
        def send(data: bytes) -> None:
            stamps[i].append(loop.time())
            sender.sendto(data, target)
        return send

    def drain() -> None:
        try:
            while True:
                sink.recv(2048)
        except BlockingIOError:
            pass

    loop.add_reader(sink.fileno(), drain)
    tone = (np.sin(np.arange(int(8000 * seconds)) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)
    pacers = [RtpPacer(make_send(i), CODECS["ulaw"]) for i in range(calls)]
    for pacer in pacers:
        pacer.start()
        pacer.play(AudioClip(tone, 8000))
    await asyncio.sleep(seconds)
    for pacer in pacers:
        await pacer.stop()
    loop.remove_reader(sink.fileno())
    sink.close()
    sender.close()
    deviations = []
    for times in stamps:
        t = np.array(times[5:])  # skip the start-up slots
        if len(t) < 2:
            continue
        grid = t[0] + 0.020 * np.arange(len(t))
        deviations.append(np.abs(t - grid))
    return np.concatenate(deviations) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"{'calls':>5} {'packets':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for calls in (1, 10, 30):
        dev = asyncio.run(measure(calls, args.seconds))
        print(f"{calls:>5} {len(dev):>8} {np.percentile(dev, 50):>8.3f} {np.percentile(dev, 99):>8.3f} "
              f"{dev.max():>8.3f}")


if __name__ == "__main__":
    main()
