"""The bot's configuration: `config.yaml` validated into frozen dataclasses.

Every problem — unknown key, wrong type, bad value, broken YAML — is a ConfigError naming the file and the
dotted key, so an operator can fix it without reading code. The Discord token is deliberately not a
setting: it comes from the environment (`DISCORD_TOKEN`) so the file can be committed and shared.

`model` holds the shape, `sections` reads a document into it, `files` finds and parses the file; the
names below are the package's interface.
"""

from bot.config.files import load_config
from bot.config.model import (
    DIGEST_MODES,
    DIGEST_STYLES,
    DIGEST_TITLE_LIMIT,
    FOOTER_MAX,
    LOG_LEVELS,
    MAX_CONFIG_BYTES,
    Config,
    ConfigError,
    CorpusConfig,
    DatabaseConfig,
    DeliveryConfig,
    DigestDefaults,
    DigestSettings,
    DiscordConfig,
    LimitsConfig,
    LoggingConfig,
    LookupsConfig,
    redact_url,
)
from bot.config.sections import digest_settings_from_mapping

__all__ = [
    "DIGEST_MODES",
    "DIGEST_STYLES",
    "DIGEST_TITLE_LIMIT",
    "FOOTER_MAX",
    "LOG_LEVELS",
    "MAX_CONFIG_BYTES",
    "Config",
    "ConfigError",
    "CorpusConfig",
    "DatabaseConfig",
    "DeliveryConfig",
    "DigestDefaults",
    "DigestSettings",
    "DiscordConfig",
    "LimitsConfig",
    "LoggingConfig",
    "LookupsConfig",
    "digest_settings_from_mapping",
    "load_config",
    "redact_url",
]
