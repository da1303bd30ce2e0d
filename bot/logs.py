"""Logging for the running bot: readable timestamped lines on stderr, with secrets removed from every record
before any handler writes it.

The libraries' loggers (discord.py, aiosqlite, asyncio, APScheduler) get their own level,
`logging.libraries`: at DEBUG they log whole gateway payloads (interaction tokens, valid for 15 minutes, are
enough to post as the bot) and every SQL statement with its values (`secured` included), so DEBUG for
digestbot's own code must not open theirs. Whatever the levels, `Redactor` removes the bot token,
interaction and webhook tokens and `secured` values from every line.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
REDACTED = "[redacted token]"
REDACTED_VALUE = "[redacted]"

#: The libraries whose loggers follow `logging.libraries` instead of `logging.level`.
LIBRARY_LOGGERS = ("discord", "aiosqlite", "asyncio", "apscheduler")

# `"token": "…"` / `'secured': '…'` in JSON and in Python reprs of payloads and SQL parameters.
_SECRET_FIELD = re.compile(
    r"""(?P<key>(?P<q>\\?["'])(?:token|secured)(?P=q)\s*:\s*)(?P<v>\\?["'])(?P<value>.*?)(?<!\\)(?P=v)""",
)
# Interaction and webhook URLs carry the token as a path segment: /interactions/<id>/<token>/callback,
# /webhooks/<application id>/<token>/messages/@original.
_TOKEN_IN_PATH = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?'\"]+")


class SecretValue(str):
    """A string that never shows itself in a repr: SQL parameters are logged as reprs by aiosqlite at
    DEBUG, and `secured` values travel as such parameters. It binds to SQLite like any str."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{REDACTED_VALUE}'"


def redact(text: str, token: str | None = None) -> str:
    """`text` without the bot token, interaction or webhook tokens, or `token`/`secured` field values."""
    if token:
        text = text.replace(token, REDACTED)
    text = _SECRET_FIELD.sub(lambda match: f"{match['key']}{match['v']}{REDACTED_VALUE}{match['v']}", text)
    return _TOKEN_IN_PATH.sub(lambda match: f"{match.group(1)}{REDACTED}", text)


class Redactor(logging.Filter):
    """Rewrites a record's message, exception text and stack with `redact` (the bot token too, if given).

    A filter on a handler sees every record that handler writes, propagated ones from the libraries
    included (a filter on a logger would miss records from its children), and the record is rewritten in
    place, so later handlers see the redacted text too.
    """

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.token)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.token)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.token)
        return True


class _BotHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our stderr handler, told apart from others so a second `setup_logging` replaces it."""


def apply_levels(level: str, libraries: str) -> None:
    """`level` for the root logger (digestbot's own), and the stricter of `level` and `libraries` for the
    libraries' loggers."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    library_level = max(logging.getLevelName(level.upper()), logging.getLevelName(libraries.upper()))
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)


def setup_logging(level: str, *, token: str | None, libraries: str = "INFO") -> None:
    """Send records at `level` and above (the libraries' at `libraries` and above) to stderr, redacted.

    Calling it again (tests, a config reload) replaces the previous setup instead of adding a handler.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _BotHandler):
            root.removeHandler(handler)
    handler = _BotHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    handler.addFilter(Redactor(token))
    root.addHandler(handler)
    apply_levels(level, libraries)


def setup_command_logging(level: str | None) -> None:
    """The offline commands: `LEVEL name: message` lines on stderr at `level` (default WARNING), redacted;
    `--log-level DEBUG` opens digestbot's own debug lines, while the libraries stay at INFO (aiosqlite's
    DEBUG lines are SQL with `secured` values)."""
    level = (level or "WARNING").upper()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(Redactor(None))
    logging.basicConfig(level=level, handlers=[handler])
    if logging.getLevelName(level) < logging.INFO:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
