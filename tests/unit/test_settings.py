import pytest
from cryptography.fernet import Fernet

from ari_app.settings import InsecureConfiguration, Settings

WEBHOOK_KEY = Fernet.generate_key().decode()


def _env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key in ("CALLCENTER_MODE", "ARI_PASSWORD", "DATABASE_URL", "RTP_PORT_MIN", "RTP_PORT_MAX", "ARI_URL",
                "API_TOKENS", "API_HOST", "API_ENABLED", "WEBHOOK_SECRETS_KEY", "PGPASSWORD"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir("/")  # no .env file from the developer's checkout


def test_lab_mode_accepts_lab_defaults(monkeypatch):
    _env(monkeypatch)
    settings = Settings()
    settings.ensure_safe_for_mode()
    assert settings.mode == "lab"
    assert settings.insecure_reasons()  # but it knows they are lab secrets


def test_production_refuses_lab_secrets(monkeypatch):
    _env(monkeypatch, CALLCENTER_MODE="production")
    with pytest.raises(InsecureConfiguration, match="ARI_PASSWORD.*DATABASE_URL"):
        Settings().ensure_safe_for_mode()


def test_production_refuses_empty_database_password(monkeypatch):
    _env(monkeypatch, CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random",
         DATABASE_URL="postgresql://callcenter@db:5432/callcenter")
    with pytest.raises(InsecureConfiguration, match="DATABASE_URL") as info:
        Settings().ensure_safe_for_mode()
    assert "ARI_PASSWORD" not in str(info.value)


def test_production_takes_the_database_password_from_pgpassword_when_the_url_has_none(monkeypatch):
    """docker-compose.yml passes the password apart from the URL: any character works there."""
    real = {"CALLCENTER_MODE": "production", "ARI_PASSWORD": "k8#Vq2-long-random",
            "DATABASE_URL": "postgresql://callcenter@db:5432/callcenter",
            "API_TOKENS": "Q2f7-operator-token-long-enough", "WEBHOOK_SECRETS_KEY": WEBHOOK_KEY}
    _env(monkeypatch, **real, PGPASSWORD="p@ss:w/rd#?%1")
    assert Settings().insecure_reasons() == []
    _env(monkeypatch, **real, PGPASSWORD="callcenter-lab")
    with pytest.raises(InsecureConfiguration, match="DATABASE_URL password"):
        Settings().ensure_safe_for_mode()


def test_production_refuses_the_lab_api_token_and_short_ones(monkeypatch):
    for tokens in ("lab-api-token", "short-token", "a-real-token-of-enough-length-1,Zq9x"):
        _env(monkeypatch, CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random",
             DATABASE_URL="postgresql://callcenter:Zx9!not-the-lab@db:5432/callcenter", API_TOKENS=tokens)
        with pytest.raises(InsecureConfiguration, match="API_TOKENS") as info:
            Settings().ensure_safe_for_mode()
        assert tokens.split(",")[-1] not in str(info.value)  # the message names the setting, not the token


def test_several_api_tokens_for_rotation(monkeypatch):
    _env(monkeypatch, API_TOKENS=" old-token-still-valid-0001 , new-token-now-valid-00002 ")
    assert Settings().tokens() == ["old-token-still-valid-0001", "new-token-now-valid-00002"]


def test_production_starts_with_real_secrets(monkeypatch):
    _env(monkeypatch, CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random",
         DATABASE_URL="postgresql://callcenter:Zx9!not-the-lab@db:5432/callcenter",
         API_TOKENS="Q2f7-operator-token-long-enough", WEBHOOK_SECRETS_KEY=WEBHOOK_KEY)
    settings = Settings()
    settings.ensure_safe_for_mode()
    assert settings.insecure_reasons() == []
    assert settings.webhook_secret_box().seals


def test_production_refuses_plain_webhook_secrets(monkeypatch):
    _env(monkeypatch, CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random",
         DATABASE_URL="postgresql://callcenter:Zx9!not-the-lab@db:5432/callcenter",
         API_TOKENS="Q2f7-operator-token-long-enough")
    with pytest.raises(InsecureConfiguration, match="WEBHOOK_SECRETS_KEY is empty.*Fernet.generate_key"):
        Settings().ensure_safe_for_mode()


def test_a_malformed_webhook_key_is_a_clear_error_that_does_not_echo_it(monkeypatch):
    _env(monkeypatch, WEBHOOK_SECRETS_KEY="not-a-fernet-key-but-someones-secret", ARI_PASSWORD="k8#Vq2-long-random")
    with pytest.raises(ValueError, match="WEBHOOK_SECRETS_KEY is not a Fernet key") as info:
        Settings()
    # Nor any other secret: pydantic would print the whole input of a failed check.
    assert "someones-secret" not in str(info.value) and "k8#Vq2" not in str(info.value)


def test_secrets_do_not_leak_in_repr(monkeypatch):
    _env(monkeypatch, ARI_PASSWORD="k8#Vq2-long-random", WEBHOOK_SECRETS_KEY=WEBHOOK_KEY)
    settings = Settings()
    assert "k8#Vq2" not in repr(settings)
    assert WEBHOOK_KEY not in repr(settings) and WEBHOOK_KEY not in repr(settings.webhook_secret_box())


def test_bad_rtp_port_range_is_a_clear_error(monkeypatch):
    _env(monkeypatch, RTP_PORT_MIN="30000", RTP_PORT_MAX="20000")
    with pytest.raises(ValueError, match="RTP port range 30000-20000"):
        Settings()


def test_coqui_without_a_model_path_is_a_clear_error(monkeypatch):
    _env(monkeypatch, TTS_ENGINE="coqui")
    monkeypatch.delenv("TTS_MODEL_PATH", raising=False)
    with pytest.raises(ValueError, match="TTS_ENGINE=coqui needs TTS_MODEL_PATH"):
        Settings()


def test_websocket_url_follows_the_rest_url(monkeypatch):
    _env(monkeypatch, ARI_URL="https://pbx.example:8089/")
    assert Settings().ari_ws_url == "wss://pbx.example:8089/ari/events"


def test_import_limits_and_uploads_come_from_the_environment(monkeypatch):
    from campaigns.importer_files import ImportLimits

    _env(monkeypatch)
    defaults = Settings()
    assert defaults.import_limits() == ImportLimits()
    assert (defaults.upload_dir, defaults.upload_max_mb) == ("", 100)
    _env(monkeypatch, IMPORT_MAX_ROWS="1000", IMPORT_MAX_CELLS="20000", IMPORT_MEMORY_MB="256",
         UPLOAD_DIR="/srv/uploads", UPLOAD_MAX_MB="5")
    settings = Settings()
    assert settings.import_limits() == ImportLimits(max_rows=1000, max_cells=20000, memory_mb=256)
    assert (settings.upload_dir, settings.upload_max_mb) == ("/srv/uploads", 5)
    _env(monkeypatch, IMPORT_MEMORY_MB="16")
    with pytest.raises(ValueError, match="IMPORT_MEMORY_MB"):
        Settings()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "callcenter.example.com"])
def test_lab_mode_refuses_to_serve_its_public_token_beyond_this_host(monkeypatch, host):
    _env(monkeypatch, API_HOST=host)
    with pytest.raises(InsecureConfiguration, match="lab mode"):
        Settings().ensure_safe_for_mode()
    _env(monkeypatch, API_HOST=host, API_ENABLED="false")  # no API, nothing served
    Settings().ensure_safe_for_mode()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_lab_mode_serves_on_loopback(monkeypatch, host):
    _env(monkeypatch, API_HOST=host)
    Settings().ensure_safe_for_mode()
