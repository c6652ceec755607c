"""`python -m campaigns`: the operator's CLI (see campaigns/cli.py)."""

from __future__ import annotations

import asyncio
import logging
import sys

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from campaigns.cli import CliError, build_parser, run
from campaigns.db import LAB_DATABASE_URL, MigrationError, open_database
from campaigns.importer_files import ImportLimits
from campaigns.importer_rows import ImportFileError
from campaigns.webhooks.secret_box import SecretBox


class CliSettings(BaseSettings):
    """The same DATABASE_URL (and .env) as the call center process reads."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    database_url: SecretStr = Field(SecretStr(LAB_DATABASE_URL), validation_alias="DATABASE_URL")
    log_level: str = Field("WARNING", validation_alias="CAMPAIGNS_LOG_LEVEL")
    # The same import limits as the call center's (ari_app/settings.py, docs/configuration.md).
    import_max_rows: int = Field(ImportLimits().max_rows, ge=1, validation_alias="IMPORT_MAX_ROWS")
    import_max_cells: int = Field(ImportLimits().max_cells, ge=1, validation_alias="IMPORT_MAX_CELLS")
    import_memory_mb: int = Field(ImportLimits().memory_mb, ge=64, validation_alias="IMPORT_MEMORY_MB")
    # Seals a payment-link gateway's signing secret, as the call center seals every webhook secret.
    webhook_secrets_key: SecretStr = Field(SecretStr(""), validation_alias="WEBHOOK_SECRETS_KEY")


async def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    settings = CliSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    async with open_database(settings.database_url.get_secret_value(), max_size=2) as pool:
        limits = ImportLimits(settings.import_max_rows, settings.import_max_cells, settings.import_memory_mb)
        box = SecretBox(settings.webhook_secrets_key.get_secret_value() or None)
        return await run(args, pool, limits=limits, webhook_box=box)


def main(argv: list[str] | None = None) -> int:
    try:
        return asyncio.run(_main(argv))
    except (CliError, ImportFileError, MigrationError, ValueError) as exc:  # an operator's mistake, not a bug
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
