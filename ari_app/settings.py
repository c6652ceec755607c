"""One typed settings object, read from the environment and an optional `.env` file.

Every knob of the process lives here so that nothing else reads `os.environ`. The lab's
defaults make `make demo` work on a fresh machine; production mode refuses to start while any
of them (or an empty secret) is still in place, because a call center reachable from a SIP
trunk with a known ARI password is an open relay for toll fraud.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from campaigns.db import LAB_DATABASE_PASSWORD, LAB_DATABASE_URL
from campaigns.importer_files import ImportLimits
from campaigns.webhooks.egress import EgressPolicy
from campaigns.webhooks.secret_box import GENERATE_KEY, SecretBox
from countries.dialing import DIAL_PREFIX

# The lab's well-known secrets (asterisk/lab/defaults.env). Production must replace all of them.
LAB_ARI_PASSWORD = "lab-ari-secret"
LAB_API_TOKEN = "lab-api-token"
KNOWN_WEAK_SECRETS = frozenset({LAB_ARI_PASSWORD, LAB_DATABASE_PASSWORD, LAB_API_TOKEN, "", "asterisk",
                                "password", "secret"})
MIN_API_TOKEN_CHARS = 24


class InsecureConfiguration(RuntimeError):
    """Raised when production mode would start with a lab or empty secret."""


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise print the input it was given, which holds
    # ARI_PASSWORD, DATABASE_URL, API_TOKENS and WEBHOOK_SECRETS_KEY, to the start-up log.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      hide_input_in_errors=True)

    mode: Literal["lab", "production"] = Field("lab", validation_alias="CALLCENTER_MODE")

    # Asterisk REST Interface.
    ari_url: str = Field("http://127.0.0.1:8088", validation_alias="ARI_URL")
    ari_user: str = Field("callcenter", validation_alias="ARI_USER")
    ari_password: SecretStr = Field(SecretStr(LAB_ARI_PASSWORD), validation_alias="ARI_PASSWORD")
    ari_app: str = Field("callcenter", validation_alias="ARI_APP")
    # This process's name on the calls it writes (with its Stasis app): a restart closes only its own
    # orphaned calls. Empty: the host's name. Give each machine sharing one database its own.
    node_id: str = Field("", validation_alias="NODE_ID")
    ari_reconnect_max_s: float = Field(10.0, validation_alias="ARI_RECONNECT_MAX_S")

    database_url: SecretStr = Field(SecretStr(LAB_DATABASE_URL), validation_alias="DATABASE_URL")
    # libpq's own PGPASSWORD, used when DATABASE_URL carries no password (docker-compose.yml passes it so,
    # since a password with '@', ':' or '/' would break the URL); read here only to refuse a weak one.
    database_password: SecretStr = Field(SecretStr(""), validation_alias="PGPASSWORD")
    # The call path's connections (turns, results, the dialer, webhooks, analysis). The operator API has
    # its own, fewer (API_DATABASE_POOL_MAX): a burst of dashboard requests or exports must never make a
    # live call wait for a connection to write its turn.
    database_pool_max: int = Field(10, ge=1, validation_alias="DATABASE_POOL_MAX")

    # ExternalMedia: where Asterisk sends the call's RTP (this process) and which UDP ports we bind.
    rtp_host: str = Field("127.0.0.1", validation_alias="RTP_HOST")
    rtp_port_min: int = Field(40000, validation_alias="RTP_PORT_MIN")
    rtp_port_max: int = Field(40999, validation_alias="RTP_PORT_MAX")
    rtp_format: Literal["ulaw", "alaw"] = Field("ulaw", validation_alias="RTP_FORMAT")
    # A call whose first RTP packet has not arrived after this long is reported as silent.
    rtp_silence_timeout_s: float = Field(2.0, validation_alias="RTP_SILENCE_TIMEOUT_S")

    # Outbound calls.
    trunk_endpoint: str = Field("trunk", validation_alias="TRUNK_ENDPOINT")
    # How the carrier wants numbers (countries/dialing.py): +e164 (+5491123456789), e164 (5491123456789) or
    # national (0111523456789), after TRUNK_DIAL_PREFIX (a technical prefix or "00"; digits, * and #).
    trunk_number_format: Literal["+e164", "e164", "national"] = Field("+e164", validation_alias="TRUNK_NUMBER_FORMAT")
    trunk_dial_prefix: str = Field("", validation_alias="TRUNK_DIAL_PREFIX")
    caller_id: str = Field("", validation_alias="CALLER_ID")
    originate_timeout_s: int = Field(30, validation_alias="ORIGINATE_TIMEOUT_S")
    # Campaign calls: how many this process may have up at once on its trunk (0: no campaign
    # dialing here), shared with every other process dialing the same trunk.
    dialer_channels: int = Field(4, ge=0, validation_alias="DIALER_CHANNELS")
    dialer_lease_s: float = Field(90.0, gt=1, validation_alias="DIALER_LEASE_S")
    dialer_poll_s: float = Field(1.0, gt=0, validation_alias="DIALER_POLL_S")
    # Fire the campaigns' waves (09:00, 12:00, 15:00) from this process. Safe in several processes.
    schedule_waves: bool = Field(True, validation_alias="SCHEDULE_WAVES")

    # Speech.
    tts_engine: Literal["espeak", "coqui"] = Field("espeak", validation_alias="TTS_ENGINE")
    tts_voice: str = Field("roa/es-419", validation_alias="TTS_VOICE")  # espeak voice; Coqui speaker
    tts_rate: int = Field(165, validation_alias="TTS_RATE")  # espeak words per minute
    tts_model_path: str = Field("", validation_alias="TTS_MODEL_PATH")  # Coqui model directory
    tts_device: str = Field("cpu", validation_alias="TTS_DEVICE")  # Coqui: cpu | cuda
    tts_speaker: str = Field("", validation_alias="TTS_SPEAKER")  # Coqui multi-speaker models
    greeting: str = Field(
        "Hola, le habla el asistente virtual de cobranza. Esta llamada puede ser grabada.",
        validation_alias="GREETING",
    )

    # What the agent does once the call is up: a full conversation (VAD -> STT -> agent -> TTS), or
    # only the greeting (a media check, used by the foundation tests and benchmarks).
    agent_mode: Literal["conversation", "greeting"] = Field("conversation", validation_alias="AGENT_MODE")
    vad: Literal["silero", "webrtc"] = Field("silero", validation_alias="VAD")
    stt_model_path: str = Field("", validation_alias="STT_MODEL_PATH")  # empty: bundled Whisper base
    stt_device: str = Field("cpu", validation_alias="STT_DEVICE")
    stt_compute_type: str = Field("int8", validation_alias="STT_COMPUTE_TYPE")
    # "fit": Whisper encodes a window cut to the utterance (~4x faster on CPU); "full": its classic 30 s.
    stt_window: Literal["fit", "full"] = Field("fit", validation_alias="STT_WINDOW")
    # The operator's corrections (TOML: [replace] heard = "meant", [vocabulary] terms = [...]), applied
    # after the bundled ones (media/stt/corrections.toml) to every transcript.
    stt_corrections_file: str = Field("", validation_alias="STT_CORRECTIONS_FILE")
    # The debtor's name and company as Whisper's prompt. Off: on the spoken set it cost dates (4-5 points)
    # for nothing on amounts (docs/speech.md); worth trying where callers say the names.
    stt_prompt_names: bool = Field(False, validation_alias="STT_PROMPT_NAMES")
    # Before the recogniser: noise suppression and level normalisation (media/preprocess.py). Off by
    # default: on the spoken set with street, babble and hum noise both denoisers cost words (docs/speech.md).
    stt_denoise: Literal["off", "rnnoise", "noisereduce"] = Field("off", validation_alias="STT_DENOISE")
    stt_normalize: bool = Field(False, validation_alias="STT_NORMALIZE")
    # Offline re-processing (ari_app/reprocess.py): a call whose live transcript was weak (its turns'
    # mean confidence under REPROCESS_WEAK_CONFIDENCE) is transcribed again from its recording with
    # this model (a CTranslate2 Whisper directory; empty: the bundled Whisper base) and a wider beam,
    # on STT_DEVICE/STT_COMPUTE_TYPE.
    stt_offline_model_path: str = Field("", validation_alias="STT_OFFLINE_MODEL_PATH")
    stt_offline_beam: int = Field(5, ge=1, le=20, validation_alias="STT_OFFLINE_BEAM")
    reprocess_weak_confidence: float = Field(0.55, ge=0, le=1, validation_alias="REPROCESS_WEAK_CONFIDENCE")
    # Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server). Empty: no LLM; the
    # built-in fallback answers (the full rule engine arrives with the collections agent).
    llm_base_url: str = Field("", validation_alias="LLM_BASE_URL")
    llm_api_key: SecretStr = Field(SecretStr(""), validation_alias="LLM_API_KEY")
    llm_model: str = Field("gpt-4o-mini", validation_alias="LLM_MODEL")
    # How long a turn waits for the model: its first streamed token (the prompt read, on a local model
    # the slow part), then any silence mid-answer. Past either, the rule engine answers that turn: a
    # caller must not sit in silence. Post-call analysis is off the call and may wait longer.
    llm_first_token_timeout_s: float = Field(4.0, gt=0, validation_alias="LLM_FIRST_TOKEN_TIMEOUT_S")
    llm_stall_timeout_s: float = Field(4.0, gt=0, validation_alias="LLM_STALL_TIMEOUT_S")
    llm_analysis_timeout_s: float = Field(60.0, gt=0, validation_alias="LLM_ANALYSIS_TIMEOUT_S")
    no_input_timeout_s: float = Field(6.0, validation_alias="NO_INPUT_TIMEOUT_S")
    # A conversation past this many seconds is closed politely after the agent's current reply (a loop,
    # or a caller playing with the agent, must not hold a channel for an hour). 0: no limit.
    max_call_duration_s: float = Field(600.0, ge=0, validation_alias="MAX_CALL_DURATION_S")
    # The collections agent: its name on the phone, and a directory of the operator's own flows
    # (<delinquency type>.toml, same keys as agent/flows/*.toml), looked up before the bundled ones.
    agent_name: str = Field("Sofía", validation_alias="AGENT_NAME")
    flows_dir: str = Field("", validation_alias="FLOWS_DIR")
    # Post-call analysis of every answered call (analysis/worker.py): the rule analyzer, or the LLM
    # above when LLM_BASE_URL is set (falling back to the rules). The classification categories come
    # from the operator's own TOML file (analysis/classification.toml's shape); empty: that one.
    analysis_enabled: bool = Field(True, validation_alias="ANALYSIS_ENABLED")
    analysis_classification_file: str = Field("", validation_alias="ANALYSIS_CLASSIFICATION_FILE")

    # After the call: each call's recording (stereo WAV, caller left, agent right) and its cost.
    # RECORDINGS_DIR empty: $XDG_DATA_HOME/asterisk-ai-callcenter/recordings (~/.local/share/...).
    record_calls: bool = Field(True, validation_alias="RECORD_CALLS")
    recordings_dir: str = Field("", validation_alias="RECORDINGS_DIR")
    xdg_data_home: str = Field("", validation_alias="XDG_DATA_HOME")
    # Recordings older than this many days are deleted, hourly (the call's row, transcript and
    # promise stay). 0 keeps them for ever: deleting evidence is the operator's decision, not ours.
    recording_retention_days: int = Field(0, ge=0, validation_alias="RECORDING_RETENTION_DAYS")
    # Where recordings are kept (docs/recordings.md): on this disk (local), in an S3-compatible bucket
    # (s3: the local copy is deleted once the upload is verified), or both. Always written locally
    # first; uploads are queued in the database and retried, so an outage of the store loses nothing.
    # Empty credentials: boto3's own chain (AWS_* variables, a profile, the instance role).
    recordings_store: Literal["local", "s3", "both"] = Field("local", validation_alias="RECORDINGS_STORE")
    recordings_s3_bucket: str = Field("", validation_alias="RECORDINGS_S3_BUCKET")
    recordings_s3_prefix: str = Field("", validation_alias="RECORDINGS_S3_PREFIX")
    recordings_s3_endpoint_url: str = Field("", validation_alias="RECORDINGS_S3_ENDPOINT_URL")  # MinIO, Ceph...
    recordings_s3_region: str = Field("", validation_alias="RECORDINGS_S3_REGION")
    recordings_s3_access_key_id: str = Field("", validation_alias="RECORDINGS_S3_ACCESS_KEY_ID")
    recordings_s3_secret_access_key: SecretStr = Field(SecretStr(""), validation_alias="RECORDINGS_S3_SECRET_ACCESS_KEY")
    # Server-side encryption asked for on every upload: off, AES256 (SSE-S3) or aws:kms (the bucket's KMS key).
    recordings_s3_sse: Literal["off", "AES256", "aws:kms"] = Field("off", validation_alias="RECORDINGS_S3_SSE")
    # The operator's rates (campaigns/costs.py), all 0 by default; carriers bill started minutes (60 s).
    cost_currency: str = Field("USD", validation_alias="COST_CURRENCY")
    cost_telephony_per_min: Decimal = Field(Decimal(0), ge=0, validation_alias="COST_TELEPHONY_PER_MIN")
    cost_billing_increment_s: int = Field(60, ge=1, validation_alias="COST_BILLING_INCREMENT_S")
    cost_stt_per_min: Decimal = Field(Decimal(0), ge=0, validation_alias="COST_STT_PER_MIN")
    cost_tts_per_1k_chars: Decimal = Field(Decimal(0), ge=0, validation_alias="COST_TTS_PER_1K_CHARS")
    cost_llm_per_1k_prompt_tokens: Decimal = Field(Decimal(0), ge=0, validation_alias="COST_LLM_PER_1K_PROMPT_TOKENS")
    cost_llm_per_1k_completion_tokens: Decimal = Field(Decimal(0), ge=0,
                                                       validation_alias="COST_LLM_PER_1K_COMPLETION_TOKENS")

    # The operator API and dashboard (api/). Bearer tokens, comma-separated so one can be
    # rotated without downtime; production refuses the lab's token and short ones.
    api_enabled: bool = Field(True, validation_alias="API_ENABLED")
    api_host: str = Field("127.0.0.1", validation_alias="API_HOST")
    api_port: int = Field(8080, ge=0, le=65535, validation_alias="API_PORT")  # 0: any free port
    api_tokens: SecretStr = Field(SecretStr(LAB_API_TOKEN), validation_alias="API_TOKENS")
    # The API's own connections, opened only when the API is; at most API_EXPORTS_MAX of them read an
    # export at once (fewer than the pool, so that exports never take every connection from the dashboard).
    api_database_pool_max: int = Field(4, ge=2, validation_alias="API_DATABASE_POOL_MAX")
    api_exports_max: int = Field(2, ge=1, validation_alias="API_EXPORTS_MAX")
    # Debtor imports (campaigns/importer_files.py). The file is read in a child process whose address
    # space is capped at IMPORT_MEMORY_MB; a CSV streams up to IMPORT_MAX_ROWS records; a sheet whose
    # used range (rows x columns from A1) passes IMPORT_MAX_CELLS is refused before it is read, since
    # one stray value at XFD1048576 makes a 5 KB workbook 17 billion cells to the reader.
    import_max_rows: int = Field(200_000, ge=1, validation_alias="IMPORT_MAX_ROWS")
    import_max_cells: int = Field(5_000_000, ge=1, validation_alias="IMPORT_MAX_CELLS")
    import_memory_mb: int = Field(512, ge=64, validation_alias="IMPORT_MEMORY_MB")
    # Uploads to POST /api/v1/contacts/imports wait, while imported, in a private directory (0700,
    # deleted with the request) made under UPLOAD_DIR (empty: the system's temp dir); the file holds
    # debtors' personal data. At most UPLOAD_MAX_MB.
    upload_dir: str = Field("", validation_alias="UPLOAD_DIR")
    upload_max_mb: int = Field(100, ge=1, validation_alias="UPLOAD_MAX_MB")

    # Webhook events every endpoint received are deleted after this many days (failures are kept).
    webhook_retention_days: int = Field(30, ge=1, validation_alias="WEBHOOK_RETENTION_DAYS")
    # Webhooks go to public addresses only: whoever registers one must not reach ARI on 127.0.0.1, the
    # cloud's metadata service or the LAN through us. A receiver on the LAN (or this host) is allowed
    # by listing its network here: comma-separated CIDRs, e.g. "10.20.0.0/16,192.168.1.7". Empty: none.
    webhook_allowed_networks: str = Field("", validation_alias="WEBHOOK_ALLOWED_NETWORKS")
    # The Fernet key sealing the endpoints' HMAC secrets in the database (campaigns/webhooks/secret_box.py):
    # a dump or a read-only account must not be able to sign forged webhooks. Empty (lab only): stored plain.
    webhook_secrets_key: SecretStr = Field(SecretStr(""), validation_alias="WEBHOOK_SECRETS_KEY")

    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    # Diagnosis of event-loop stalls (media/loop_lag.py; the lag is always measured and exported):
    # log the loop thread's stack at each stall over 20 ms, and/or asyncio's own report of callbacks
    # slower than this many ms (its debug mode: some overhead, not for production). 0: off.
    loop_lag_stacks: bool = Field(False, validation_alias="LOOP_LAG_STACKS")
    asyncio_slow_callback_ms: float = Field(0.0, ge=0, validation_alias="ASYNCIO_SLOW_CALLBACK_MS")

    @model_validator(mode="after")
    def _check_ranges(self) -> Settings:
        if not 1024 <= self.rtp_port_min <= self.rtp_port_max <= 65535:
            raise ValueError(f"RTP port range {self.rtp_port_min}-{self.rtp_port_max} is not valid")
        if not urlsplit(self.ari_url).scheme.startswith("http"):
            raise ValueError(f"ARI_URL must be http(s)://host:port, got {self.ari_url!r}")
        if not DIAL_PREFIX.fullmatch(self.trunk_dial_prefix):
            raise ValueError(f"TRUNK_DIAL_PREFIX may hold only digits, '*' and '#', got {self.trunk_dial_prefix!r}")
        self.webhook_egress()  # a mistyped network stops the start, instead of every delivery
        self.webhook_secret_box()  # so does a malformed key
        if self.api_exports_max >= self.api_database_pool_max:
            raise ValueError(f"API_EXPORTS_MAX ({self.api_exports_max}) must be below API_DATABASE_POOL_MAX "
                             f"({self.api_database_pool_max}): exports would take every API connection")
        self._check_recordings_store()
        if self.tts_engine == "coqui" and not self.tts_model_path:
            raise ValueError("TTS_ENGINE=coqui needs TTS_MODEL_PATH: the directory of a Coqui model "
                             "(config.json + model.pth); models are never downloaded at run time")
        return self

    def _check_recordings_store(self) -> None:
        """An object store that cannot work is refused at start, not at the first upload after a call."""
        if self.recordings_store == "local":
            return
        if not self.recordings_s3_bucket:
            raise ValueError(f"RECORDINGS_STORE={self.recordings_store} needs RECORDINGS_S3_BUCKET: the bucket "
                             "recordings are uploaded to")
        if bool(self.recordings_s3_access_key_id) != bool(self.recordings_s3_secret_access_key.get_secret_value()):
            raise ValueError("set both RECORDINGS_S3_ACCESS_KEY_ID and RECORDINGS_S3_SECRET_ACCESS_KEY, or neither "
                             "(boto3's own chain: AWS_* variables, a profile, the instance role)")
        if self.recordings_s3_endpoint_url and not urlsplit(self.recordings_s3_endpoint_url).scheme.startswith("http"):
            raise ValueError(f"RECORDINGS_S3_ENDPOINT_URL must be http(s)://host:port, got "
                             f"{self.recordings_s3_endpoint_url!r}")

    @property
    def ari_ws_url(self) -> str:
        parts = urlsplit(self.ari_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/ari/events"

    def webhook_egress(self) -> EgressPolicy:
        """Where the webhook worker may send requests: public addresses and WEBHOOK_ALLOWED_NETWORKS."""
        return EgressPolicy.parse(self.webhook_allowed_networks)

    def webhook_secret_box(self) -> SecretBox:
        """Seals webhook secrets under WEBHOOK_SECRETS_KEY (none when it is empty: the lab)."""
        return SecretBox(self.webhook_secrets_key.get_secret_value())

    def import_limits(self) -> ImportLimits:
        return ImportLimits(max_rows=self.import_max_rows, max_cells=self.import_max_cells,
                            memory_mb=self.import_memory_mb)

    @property
    def recordings_path(self) -> Path:
        if self.recordings_dir:
            return Path(self.recordings_dir).expanduser()
        data = Path(self.xdg_data_home) if self.xdg_data_home else Path.home() / ".local" / "share"
        return data / "asterisk-ai-callcenter" / "recordings"

    def insecure_reasons(self) -> list[str]:
        """What would make this configuration unsafe to expose to a real trunk."""
        reasons = []
        if self.ari_password.get_secret_value() in KNOWN_WEAK_SECRETS:
            reasons.append("ARI_PASSWORD is empty or a lab default")
        db_password = (urlsplit(self.database_url.get_secret_value()).password
                       or self.database_password.get_secret_value())
        if db_password in KNOWN_WEAK_SECRETS:
            reasons.append("the DATABASE_URL password is empty or a lab default")
        tokens = self.tokens()
        if not tokens or any(t in KNOWN_WEAK_SECRETS or len(t) < MIN_API_TOKEN_CHARS for t in tokens):
            reasons.append(f"API_TOKENS is empty, a lab default, or has a token shorter than "
                           f"{MIN_API_TOKEN_CHARS} characters")
        if self.recordings_store != "local" and urlsplit(self.recordings_s3_endpoint_url).scheme == "http" \
                and not _is_loopback(urlsplit(self.recordings_s3_endpoint_url).hostname or ""):
            reasons.append("RECORDINGS_S3_ENDPOINT_URL is plain http to another host: recordings would cross "
                           "the network unencrypted (use https)")
        if not self.webhook_secrets_key.get_secret_value():
            reasons.append(f"WEBHOOK_SECRETS_KEY is empty: webhook secrets would be stored in plain text "
                           f"(generate a key with: {GENERATE_KEY})")
        return reasons

    def tokens(self) -> list[str]:
        """The operator API's valid bearer tokens."""
        return [t.strip() for t in self.api_tokens.get_secret_value().split(",") if t.strip()]

    def ensure_safe_for_mode(self) -> None:
        """Refuse to run production with lab secrets; lab mode accepts them by design, on this host only."""
        if self.mode == "lab" and self.api_enabled and not _is_loopback(self.api_host):
            raise InsecureConfiguration(
                f"refusing to serve the API on {self.api_host} in lab mode: the lab's API token is public. "
                "Use API_HOST=127.0.0.1, or CALLCENTER_MODE=production with real secrets.")
        if self.mode == "production" and (reasons := self.insecure_reasons()):
            raise InsecureConfiguration(
                "refusing to start in production mode: " + "; ".join(reasons)
                + ". Set real secrets in the environment or .env."
            )


def _is_loopback(host: str) -> bool:
    """Whether `host` is only reachable from this machine (0.0.0.0, a LAN address or a name is not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
