"""`python -m campaigns ...`: the operator's commands for debtors, campaigns and waves.

    python -m campaigns import deudores.xlsx --company Natura
    python -m campaigns create "Natura temprana dic" --company Natura --flow temprana=early
    python -m campaigns list
    python -m campaigns wave "Natura temprana dic"          # launch a wave now
    python -m campaigns watch "Natura temprana dic"         # live counts by outcome
    python -m campaigns why 12.345.678-5                    # why was this person (not) called?
    python -m campaigns stop 12.345.678-5                   # "stop calling me", at once
    python -m campaigns promise-kept 12.345.678-5           # the payment arrived: no reminder call
    python -m campaigns dnc +56987654321 --reason registry  # do-not-call list
    python -m campaigns payment-link Natura --gateway https://gw.example.cl/wa \
        --template 'https://pagos.natura.cl/d/{debtor_id}?monto={amount}'  # links the agent can send
    python -m campaigns operator-add ana --role admin      # a dashboard login (asks for the password)

The calls themselves are placed by the call center process (`python -m ari_app run`), which
consumes the queue and fires the scheduled waves; `python -m ari_app campaign` runs both at once.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, time
from typing import TextIO

import psycopg
from psycopg_pool import AsyncConnectionPool

from campaigns.campaign import Campaign, CampaignSpec, CampaignStore, Selection
from campaigns.contacts import add_do_not_call, stop_calling
from campaigns.holds import PromiseError, mark_promise, pick_promise
from campaigns.importer import DebtorImporter, ImportLimits
from campaigns.operators import OperatorError, OperatorStore, Role
from campaigns.payment_links import PaymentLinkError, PaymentLinkSettings
from campaigns.planner import WavePlanner, WaveResult
from campaigns.policy import ContactPolicyConfig
from campaigns.report import Progress, explain, progress
from campaigns.webhooks import WebhookStore
from campaigns.webhooks.secret_box import SecretBox
from countries import default_timezone
from countries.identity import InvalidIdentity, normalise_national_id, normalise_phone


class CliError(Exception):
    """A mistake the operator can fix; printed without a traceback."""


def add_other_companies_option(p: argparse.ArgumentParser) -> None:
    """The opt-in to a multi-company file, for every command that imports one."""
    p.add_argument("--other-companies", action="store_true",
                   help="load rows whose company/empresa column names another company (a multi-company file); "
                        "without it they are rejected, so a file for one client cannot overwrite another's")


def build_parser(prog: str = "python -m campaigns") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Debtors, campaigns and waves.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="import debtors from .xlsx or .csv")
    p.add_argument("file")
    p.add_argument("--company", required=True)
    p.add_argument("--country", default="CL", help="default country of the rows (CL, AR, CO)")
    p.add_argument("--timezone", default=None)
    p.add_argument("--leads", action="store_true",
                   help="a sales campaign's list: a name and a phone per row are enough (no RUT needed)")
    add_other_companies_option(p)

    p = sub.add_parser("create", help="create a campaign")
    add_campaign_options(p)

    sub.add_parser("list", help="list campaigns")

    p = sub.add_parser("wave", help="launch a wave now (queue the calls)")
    p.add_argument("campaign")
    p.add_argument("--slot", default=None, help="plan this scheduled slot (e.g. 09:00) instead of a manual wave")

    p = sub.add_parser("watch", help="live progress of a campaign")
    p.add_argument("campaign")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--until-settled", action="store_true", help="stop when nothing is being dialed or due")

    p = sub.add_parser("why", help="why was this person (not) called?")
    p.add_argument("national_id")
    p.add_argument("--country", default="CL")

    p = sub.add_parser("stop", help='the debtor asked not to be called again: exclude at once')
    p.add_argument("national_id")
    p.add_argument("--country", default="CL")
    p.add_argument("--reason", default="asked_not_to_be_called")

    for status, meaning in (("kept", "the payment arrived: no reminder call"),
                            ("broken", "it will not be paid: the debtor is called again, as any debtor")):
        p = sub.add_parser(f"promise-{status}", help=f"mark a payment promise {status} ({meaning})")
        p.add_argument("national_id", nargs="?", help="the debtor's (their open promise; to mark kept, else the "
                                                      "latest broken one)")
        p.add_argument("--id", type=int, dest="promise_id", help="the promise's number (see `why`)")
        p.add_argument("--country", default="CL")
        p.add_argument("--by", default="operator", help="who says so (kept with the promise)")

    p = sub.add_parser("dnc", help="add a number to the do-not-call list")
    p.add_argument("number")
    p.add_argument("--country", default="CL")
    p.add_argument("--reason", required=True)

    for name in ("pause", "resume", "finish"):
        p = sub.add_parser(name, help=f"{name} a campaign")
        p.add_argument("campaign")

    p = sub.add_parser("payment-link", help="the company's payment link and the messaging gateway that sends it "
                       "(prints the gateway's signing secret once)")
    p.add_argument("company")
    p.add_argument("--gateway", required=True, help="http(s) URL of the WhatsApp/SMS gateway")
    p.add_argument("--template", required=True, help="the link; may name {debtor_id} {attempt_id} {national_id} "
                   "{amount} {company}")
    p.add_argument("--via", default="WhatsApp", help="the channel the agent names (default: WhatsApp)")
    p = sub.add_parser("payment-instructions", help="what the agent says when no link can be sent (a transfer's data)")
    p.add_argument("company")
    p.add_argument("instructions")
    p = sub.add_parser("payment-link-off", help="no more payment links for the company")
    p.add_argument("company")

    p = sub.add_parser("operator-add", help="a dashboard/API login for a person (the first admin, say); the "
                       "password is asked for, or read from stdin when it is not a terminal")
    p.add_argument("username")
    p.add_argument("--role", choices=("admin", "supervisor", "viewer"), required=True)
    p = sub.add_parser("operator-disable", help="no more logins for the operator; open sessions end now")
    p.add_argument("username")
    sub.add_parser("operators", help="list the operators and their roles")
    return parser


def add_campaign_options(p: argparse.ArgumentParser, *, company_required: bool = True,
                         default_trunk: str | None = "trunk") -> None:
    p.add_argument("name")
    p.add_argument("--company", required=company_required)
    p.add_argument("--country", default="CL")
    p.add_argument("--timezone", default=None, help="IANA zone (default: the country's)")
    p.add_argument("--trunk", default=default_trunk)
    p.add_argument("--caller-id", default="")
    p.add_argument("--answering-machine", choices=("hangup", "message", "off"), default="hangup",
                   help="when a machine answers: hang up, leave a short message (no debt details), or do not "
                        "detect (default: hangup)")
    p.add_argument("--kind", choices=("collection", "sales"), default="collection",
                   help="collection (debtors) or sales (the company's leads: a payroll-loan offer); default: "
                        "collection")
    p.add_argument("--types", default="", help="delinquency types to select, comma separated (default: all)")
    p.add_argument("--flow", action="append", default=[], metavar="TYPE=FLOW",
                   help="negotiation flow per delinquency type ('*=flow' for the rest); repeatable")
    p.add_argument("--per-day", type=int, default=60, help="debtors per day")
    p.add_argument("--waves", default="09:00,12:00,15:00")
    p.add_argument("--profiles", default="", help="extra legal profiles to combine, e.g. US (Regulation F)")
    p.add_argument("--promise-grace-days", type=int, default=1,
                   help="days after a promised date before an unpaid promise is broken and reminded; the debtor is "
                        "not called until then (default: 1)")


def spec_from_args(args: argparse.Namespace) -> CampaignSpec:
    flows = {}
    for item in args.flow:
        kind, sep, flow = item.partition("=")
        if not sep or not flow:
            raise CliError(f"--flow {item!r}: expected TYPE=FLOW")
        flows[kind.strip()] = flow.strip()
    try:
        waves = tuple(time.fromisoformat(w.strip()) for w in args.waves.split(",") if w.strip())
        extra = tuple(p.strip().upper() for p in args.profiles.split(",") if p.strip())
        return CampaignSpec(
            name=args.name, company=args.company, country=args.country,
            timezone=args.timezone or default_timezone(args.country) or "UTC", trunk=args.trunk,
            caller_id=args.caller_id, flows=flows, answering_machine=args.answering_machine, kind=args.kind,
            selection=Selection(delinquency_types=tuple(t.strip() for t in args.types.split(",") if t.strip())),
            policy=ContactPolicyConfig(waves=waves, debtors_per_day=args.per_day, profiles=(args.country, *extra),
                                       promise_grace_days=args.promise_grace_days))
    except ValueError as exc:
        raise CliError(str(exc)) from exc


async def campaign_named(pool: AsyncConnectionPool, name: str) -> Campaign:
    campaign = await CampaignStore(pool).get(name)
    if campaign is None:
        raise CliError(f"no campaign {name!r} (see `python -m campaigns list`)")
    return campaign


async def import_file(pool: AsyncConnectionPool, path: str, company: str, country: str, timezone: str | None,
                      out: TextIO, limits: ImportLimits | None = None, *, other_companies: bool = False,
                      leads: bool = False) -> int:
    def show(rows: int) -> None:
        out.write(f"\r  {rows:,} rows read...")
        out.flush()

    report = await DebtorImporter(pool, limits).import_file(path, company=company, country=country,
                                                            timezone=timezone, progress=show,
                                                            other_companies=other_companies, leads=leads)
    out.write("\r" + report.summary() + "\n")
    return report.rows_read - report.rows_rejected


async def launch_wave(pool: AsyncConnectionPool, campaign: Campaign, slot: str | None, out: TextIO) -> WaveResult:
    result = await WavePlanner(pool).plan(campaign, datetime.now().astimezone(), slot=slot)
    if result.already_planned:
        out.write(f"wave {result.local_date} {result.slot} of {campaign.name!r} had already run\n")
    else:
        held = ", ".join(f"{k}: {v}" for k, v in result.skipped.items()) or "nobody"
        reminders = f" ({result.reminders} promise reminder(s))" if result.reminders else ""
        out.write(f"wave {result.local_date} {result.slot} of {campaign.name!r}: {result.enqueued} debtor(s) queued"
                  f"{reminders}; held back: {held}\n")
    return result


async def watch(pool: AsyncConnectionPool, campaign: Campaign, out: TextIO, *, interval_s: float = 2.0,
                until: Callable[[Progress], bool] | None = None) -> Progress:
    """Print a progress line whenever it changes; return when `until` says so (never, if None)."""
    last = ""
    while True:
        state = await progress(pool, campaign, datetime.now().astimezone())
        line = state.line()
        if line != last:
            out.write(f"{datetime.now():%H:%M:%S} {line}\n")
            out.flush()
            last = line
        if until is not None and until(state):
            return state
        await asyncio.sleep(interval_s)


async def run(args: argparse.Namespace, pool: AsyncConnectionPool, out: TextIO = sys.stdout,
              limits: ImportLimits | None = None, webhook_box: SecretBox | None = None,
              read_password: Callable[[], str] | None = None) -> int:
    store = CampaignStore(pool)
    payments = PaymentLinkSettings(pool, WebhookStore(pool, box=webhook_box))
    match args.command:
        case "import":
            loaded = await import_file(pool, args.file, args.company, args.country, args.timezone, out, limits,
                                       other_companies=args.other_companies, leads=args.leads)
            return 0 if loaded else 1
        case "create":
            try:
                campaign = await store.create(spec_from_args(args))
            except psycopg.errors.UniqueViolation:
                raise CliError(f"a campaign named {args.name!r} already exists") from None
            except ValueError as exc:
                raise CliError(str(exc)) from exc
            out.write(f"campaign {campaign.id} {campaign.name!r} created ({campaign.country}, {campaign.timezone}, "
                      f"waves {', '.join(t.strftime('%H:%M') for t in campaign.policy_config.waves)})\n")
        case "list":
            out.writelines(f"{c.id:>4} {c.status:<8} {c.name}  [{c.kind} {c.country} {c.timezone} trunk={c.trunk} "
                          f"{c.policy_config.debtors_per_day}/day profiles={'+'.join(c.policy_config.profiles)}]\n" for c in await store.list())
        case "wave":
            await launch_wave(pool, await campaign_named(pool, args.campaign), args.slot, out)
        case "watch":
            await watch(pool, await campaign_named(pool, args.campaign), out, interval_s=args.interval,
                        until=(lambda p: p.settled) if args.until_settled else None)
        case "why":
            out.write("\n".join(await explain(pool, args.national_id, country=args.country)) + "\n")
        case "stop":
            for debtor_id in await _debtors(pool, args.national_id, args.country):
                n = await stop_calling(pool, debtor_id, args.reason)
                out.write(f"debtor {debtor_id} excluded ({args.reason}); {n} queued job(s) cancelled\n")
        case "promise-kept" | "promise-broken":
            await _mark_promise(pool, args, args.command.removeprefix("promise-"), out)
        case "dnc":
            try:
                number = normalise_phone(args.number, args.country)
            except InvalidIdentity as exc:
                raise CliError(str(exc)) from exc
            await add_do_not_call(pool, number, args.reason)
            out.write("number added to the do-not-call list\n")
        case "operator-add" | "operator-disable" | "operators":
            await _operators(OperatorStore(pool), args, out, read_password)
        case "payment-link" | "payment-instructions" | "payment-link-off":
            await _payment_links(payments, args, out)
        case "pause" | "resume" | "finish":
            status = {"pause": "paused", "resume": "active", "finish": "finished"}[args.command]
            await store.set_status((await campaign_named(pool, args.campaign)).id, status)
            out.write(f"campaign {args.campaign!r} is {status}\n")
    return 0


def _ask_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")  # piped: a deploy script's secret
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise CliError("the two passwords differ")
    return first


async def _operators(store: OperatorStore, args: argparse.Namespace, out: TextIO,
                     read_password: Callable[[], str] | None) -> None:
    try:
        if args.command == "operator-add":
            password = (read_password or _ask_password)()
            await store.create(args.username, password, Role.named(args.role))
            out.write(f"operator {args.username.strip().lower()!r} added as {args.role}\n")
        elif args.command == "operator-disable":
            await store.disable(args.username, by="cli")
            out.write(f"operator {args.username!r} disabled; their sessions ended\n")
        else:
            for o in await store.list():
                state = f"disabled {o['disabled_at']:%Y-%m-%d}" if o["disabled_at"] else "active"
                out.write(f"{o['username']:<24} {o['role']:<10} {state}\n")
    except OperatorError as exc:
        raise CliError(str(exc)) from exc


async def _payment_links(payments: PaymentLinkSettings, args: argparse.Namespace, out: TextIO) -> None:
    try:
        if args.command == "payment-link":
            made = await payments.configure(args.company, gateway_url=args.gateway, template=args.template,
                                            via=args.via)
            out.write(f"{args.company}: payment links by {args.via} through {made.endpoint.url} (webhook "
                      f"{made.endpoint.id}); the gateway's signing secret, shown once: {made.secret}\n")
        elif args.command == "payment-instructions":
            await payments.set_instructions(args.company, args.instructions)
            out.write(f"{args.company}: payment instructions set\n")
        else:
            disabled = await payments.disable(args.company)
            out.write(f"{args.company}: no more payment links ({disabled} gateway(s) disabled)\n")
    except PaymentLinkError as exc:
        raise CliError(str(exc)) from exc


async def _mark_promise(pool: AsyncConnectionPool, args: argparse.Namespace, status: str, out: TextIO) -> None:
    if (args.promise_id is None) == (args.national_id is None):
        raise CliError("give the debtor's national id or --id of the promise (one of them)")
    try:
        promise_id = args.promise_id or await pick_promise(
            pool, list(await _debtors(pool, args.national_id, args.country)), status)
        marked = await mark_promise(pool, promise_id, status, by=args.by)
    except PromiseError as exc:
        raise CliError(str(exc)) from exc
    cancelled = f"; {marked.reminders_cancelled} queued reminder call(s) cancelled" if marked.reminders_cancelled else ""
    out.write(f"{marked.promise.line()} (was {marked.previous_status}){cancelled}\n")


async def _debtors(pool: AsyncConnectionPool, national_id: str, country: str) -> Sequence[int]:
    try:
        wanted = normalise_national_id(national_id, country)
    except InvalidIdentity as exc:
        raise CliError(str(exc)) from exc
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM debtors WHERE national_id = %s", (wanted,))
        ids = [r[0] for r in await cur.fetchall()]
    if not ids:
        raise CliError("no debtor with that national id")
    return ids
