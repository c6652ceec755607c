"""`python -m ari_app [run|call NUMBER|check-config]`: the call center process and its tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys

from ari_app.app import CallCenterApp
from ari_app.settings import InsecureConfiguration, Settings
from campaigns.db import MigrationError
from campaigns.privacy import mask_phone


async def _run(settings: Settings) -> None:
    async with CallCenterApp(settings) as app:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logging.getLogger("ari_app").info("call center running; Stasis app %r on %s", settings.ari_app,
                                          settings.ari_url)
        runner = asyncio.ensure_future(app.run_forever())
        await asyncio.wait([runner, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def _call(settings: Settings, number: str, wait_s: float) -> int:
    """Place one outbound call, wait for it to end, print its record as JSON."""
    async with CallCenterApp(settings) as app:
        await app.wait_ready()
        call = app.dialer.dial(number)
        await asyncio.wait_for(call.finished.wait(), wait_s)
        record = await app.call_log.get(call.attempt_id)
        events = await app.call_log.events(call.attempt_id)
        assert record is not None
        print(json.dumps({
            "attempt_id": str(record.id),
            "number": mask_phone(number),
            "outcome": record.outcome.value if record.outcome else None,
            "hangup_cause": record.hangup_cause,
            "hangup_cause_txt": record.hangup_cause_txt,
            "metrics": record.metrics,
            "events": [e.kind for e in events],
        }, indent=2, default=str))
        return 0 if record.outcome and record.outcome.value == "answered" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ari_app", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Stasis app until SIGINT/SIGTERM (default)")
    call = sub.add_parser("call", help="place one outbound call through the trunk and print its record")
    call.add_argument("number")
    call.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the call to end")
    sub.add_parser("check-config", help="validate the configuration and exit")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings.ensure_safe_for_mode()
        if args.command == "check-config":
            print(f"configuration OK (mode={settings.mode}, ARI {settings.ari_url}, app {settings.ari_app})")
            return 0
        if args.command == "call":
            return asyncio.run(_call(settings, args.number, args.wait))
        asyncio.run(_run(settings))
        return 0
    except (InsecureConfiguration, MigrationError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
