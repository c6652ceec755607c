"""`python -m ari_app [run|call NUMBER|campaign NAME|reprocess|check-config]`: the call center process and its tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from ari_app import preflight
from ari_app.app import CallCenterApp, analysis_worker
from ari_app.ari import StasisAppTaken
from ari_app.recordings import recording_store
from ari_app.reprocess import ReprocessError, Reprocessor
from ari_app.settings import InsecureConfiguration, Settings
from campaigns import cli as campaign_cli
from campaigns.cli import CliError
from campaigns.db import MigrationError, open_database
from countries.privacy import mask_phone


async def _run(settings: Settings) -> None:
    async with CallCenterApp(settings) as app:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        logging.getLogger("ari_app").info("call center running; Stasis app %r on %s%s", app.stasis_app,
                                          settings.ari_url,
                                          f"; dashboard {app.api.url}/dashboard" if app.api else "")
        runner = asyncio.ensure_future(app.run_forever())
        await asyncio.wait([runner, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def _call(settings: Settings, number: str, wait_s: float) -> int:
    """Place one outbound call, wait for it to end, print its record as JSON.

    Only that call: this process neither dials queued campaign jobs nor fires waves."""
    settings = settings.model_copy(update={"dialer_channels": 0, "schedule_waves": False, "api_enabled": False})
    async with CallCenterApp(settings, beside=True) as app:
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


async def _campaign(settings: Settings, args: argparse.Namespace) -> int:
    """`make campaign`: the call center with its dialer, plus an import, a wave now and live progress.

    With --schedule it keeps running and the waves fire at their times; otherwise it returns
    once the wave's calls are done and only retries for later are left (the running call center,
    `make run`, places those).
    """
    async with CallCenterApp(settings, api_optional=True, beside=True) as app:
        await app.wait_ready()
        if app.api is not None:
            print(f"dashboard: {app.api.url}/dashboard")
        campaign = await app.campaigns.get(args.name)
        if args.file:
            if not args.company and campaign is None:
                raise CliError("--company is needed to import a file for a new campaign")
            await campaign_cli.import_file(app.pool, args.file, args.company or "", args.country, args.timezone,
                                           sys.stdout, settings.import_limits(),
                                           other_companies=args.other_companies, leads=args.kind == "sales")
        if campaign is None:
            if not args.company:
                raise CliError(f"no campaign {args.name!r}; give --company (and --file) to create it")
            args.trunk = args.trunk or settings.trunk_endpoint
            campaign = await app.campaigns.create(campaign_cli.spec_from_args(args))
            print(f"campaign {campaign.id} {campaign.name!r} created")
        if args.schedule:
            print(f"waves at {', '.join(t.strftime('%H:%M') for t in campaign.policy_config.waves)} "
                  f"({campaign.timezone}); Ctrl-C to stop")
            await campaign_cli.watch(app.pool, campaign, sys.stdout, interval_s=args.interval)
            return 0
        await campaign_cli.launch_wave(app.pool, campaign, None, sys.stdout)
        await asyncio.sleep(settings.dialer_poll_s * 2)  # let the dialer claim before judging "settled"
        final = await campaign_cli.watch(app.pool, campaign, sys.stdout, interval_s=args.interval,
                                         until=lambda p: p.settled)
        queued = final.jobs.get("queued", 0)
        print(f"wave done: {sum(final.outcomes_today.values())} call(s) today; "
              f"{queued} debtor(s) wait for a retry or the next wave")
        return 0


async def _reprocess(settings: Settings, args: argparse.Namespace) -> int:
    """Re-transcribe one call, or the (weak) calls of a date range, and re-run their analyses; one
    line per call. 0 when every call selected was re-processed, 1 when one failed."""
    async with open_database(settings.database_url.get_secret_value(), max_size=2) as pool, \
            analysis_worker(pool, settings) as analysis:
        reprocessor = Reprocessor.from_settings(pool, recording_store(settings), settings,
                                                analysis)
        versions = reprocessor.transcripts
        if args.call is not None:
            selected = [args.call]
        else:
            until = args.until or args.since
            if until < args.since:
                raise CliError("--to is before --from")
            since_at = datetime.combine(args.since, dt_time(), UTC)
            until_at = datetime.combine(until + timedelta(days=1), dt_time(), UTC)
            found = await versions.candidates(since_at, until_at)
            weak = [c for c in found if c.weak]
            print(f"{len(found)} recorded call(s) from {args.since} to {until} (UTC); {len(weak)} weak "
                  f"(turns' mean confidence < {versions.weak_confidence:.2f})")
            for c in found:
                mean = "no scored turns" if c.mean_confidence is None else f"{c.mean_confidence:.2f}"
                chosen = c.weak or not args.only_weak
                print(f"  {c.attempt_id} {c.created_at:%Y-%m-%d %H:%M} {c.turns} turn(s), mean confidence {mean}"
                      f"{' weak' if c.weak else ''}{'' if chosen else ' (skipped)'}")
            selected = [c.attempt_id for c in (weak if args.only_weak else found)]
        failed = 0
        try:
            for attempt_id in selected:
                try:
                    print((await reprocessor.reprocess(attempt_id, by="cli")).describe(), flush=True)
                except ReprocessError as exc:
                    failed += 1
                    print(f"call {attempt_id}: not re-processed: {exc}", flush=True)
        finally:
            await reprocessor.aclose()
        print(f"re-processed {len(selected) - failed} of {len(selected)} call(s)")
        return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ari_app", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the Stasis app until SIGINT/SIGTERM (default)")
    call = sub.add_parser("call", help="place one outbound call through the trunk and print its record")
    call.add_argument("number")
    call.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the call to end")
    check = sub.add_parser("check-config", help="validate the configuration and exit")
    check.add_argument("--connect", action="store_true",
                       help="also reach ARI, the database, the trunk and the speech models: one line each, "
                            "a problem with its fix; exit 1 on any problem")
    campaign = sub.add_parser("campaign", help="run the call center with a campaign: import, wave now, progress")
    # The company is needed only to create the campaign; the trunk defaults to this process's.
    campaign_cli.add_campaign_options(campaign, company_required=False, default_trunk=None)
    campaign.add_argument("--file", default=None, help="import this .xlsx/.csv first")
    campaign_cli.add_other_companies_option(campaign)
    campaign.add_argument("--schedule", action="store_true", help="keep running; waves fire at their times")
    campaign.add_argument("--interval", type=float, default=2.0, help="seconds between progress lines")
    reprocess = sub.add_parser("reprocess", help="transcribe calls again from their recordings (bigger model, "
                               "wider beam) and re-run their analyses")
    which = reprocess.add_mutually_exclusive_group(required=True)
    which.add_argument("--call", type=uuid.UUID, help="this call (its id)")
    which.add_argument("--from", dest="since", type=date.fromisoformat, help="calls created from this day (UTC)")
    reprocess.add_argument("--to", dest="until", type=date.fromisoformat, default=None,
                           help="to this day, included (default: --from)")
    reprocess.add_argument("--only-weak", action="store_true",
                           help="only calls whose turns' mean confidence is under REPROCESS_WEAK_CONFIDENCE")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
        logging.basicConfig(level=settings.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        settings.ensure_safe_for_mode()
        if args.command == "check-config":
            print(f"configuration OK (mode={settings.mode}, ARI {settings.ari_url}, app {settings.ari_app})")
            if args.connect:
                return preflight.print_report(asyncio.run(preflight.run_checks(settings)), sys.stdout)
            return 0
        if args.command == "call":
            return asyncio.run(_call(settings, args.number, args.wait))
        if args.command == "campaign":
            return asyncio.run(_campaign(settings, args))
        if args.command == "reprocess":
            if args.until is not None and args.since is None:
                raise CliError("--to goes with --from")
            return asyncio.run(_reprocess(settings, args))
        asyncio.run(_run(settings))
        return 0
    except (InsecureConfiguration, MigrationError, CliError, StasisAppTaken, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
