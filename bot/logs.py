"""Logging for the running bot: readable timestamped lines on stderr, discord.py's loggers included, and
the token redacted from every record before any handler writes it."""

from __future__ import annotations

import logging
import sys
import traceback

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
REDACTED = "[redacted token]"


class TokenRedactor(logging.Filter):
    """Replaces the token in a record's message, exception text and stack with `REDACTED`.

    A filter on a handler sees every record that handler writes, propagated ones from discord.py included
    (a filter on a logger would miss records from its children), and the record is rewritten in place, so
    later handlers see the redacted text too.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def _redact(self, text: str) -> str:
        return text.replace(self.token, REDACTED)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = self._redact(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class _BotHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our stderr handler, told apart from others so a second `setup_logging` replaces it."""


def setup_logging(level: str, *, token: str | None) -> None:
    """Send our and discord.py's records at `level` and above to stderr, redacting `token` if given.

    Calling it again (tests, a config reload) replaces the previous setup instead of adding a handler.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _BotHandler):
            root.removeHandler(handler)
    handler = _BotHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
    if token:
        handler.addFilter(TokenRedactor(token))
    root.addHandler(handler)
    root.setLevel(level.upper())
