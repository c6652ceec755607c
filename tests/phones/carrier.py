"""`make carrier`: a sipp carrier on the lab trunk's address (127.0.0.1:5070) until Ctrl-C, so that
`make campaign` in the lab has someone to call: numbers ending in 7 are busy, in 8 do not answer,
the rest answer (and echo the audio back)."""

from __future__ import annotations

import signal
import sys
import time

from tests.phones.sipp import SCENARIOS, SippCarrier


def main(name: str = "by_number") -> None:
    # SIGTERM (a `kill`, make's own end) leaves through the `with`, so sipp is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with SippCarrier(name) as carrier:
        print(f"sipp carrier on {carrier.host}:{carrier.port}: {SCENARIOS.get(name, name)}; Ctrl-C to stop")
        print(f"logs in {carrier.workdir}")
        seen = 0
        try:
            while True:
                carrier.check_alive()
                invites = len(carrier.received("INVITE"))
                if invites != seen:
                    print(f"{time.strftime('%H:%M:%S')} calls received: {invites}", flush=True)
                    seen = invites
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(*sys.argv[1:2])
