"""Delivery's requests to Discord: one request under the retry rules, and the look for a message an
interrupted attempt may already have posted.

The rules: 429 is discord.py's business; transient failures (5xx, timeouts, dropped connections) are
retried after the policy's waits; a channel the bot cannot use raises ChannelUnusable (the digest is
paused); anything else, or retries running out, raises GaveUp.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
import discord

from bot.digest import reconcile as decisions
from bot.render.digest import message_key, same_message

log = logging.getLogger(__name__)

#: The look for an unconfirmed message reads the channel forward from the run's claim, this many
#: messages a page, at most this many pages (the message went out soon after the claim, so it is near the
#: start; the bound keeps a flooded channel from being read to its end).
ADOPT_PAGE_SIZE = 100
ADOPT_MAX_PAGES = 10
#: Message ids carry Discord's clock, the claim time ours: the look starts this much before the claim.
ADOPT_CLOCK_MARGIN = timedelta(minutes=5)


class RetryPolicy(Protocol):
    """How hard a request is tried (`bot.delivery.DeliveryPolicy`)."""

    retry_delays: tuple[float, ...]
    sleep: Callable[[float], Awaitable[Any]]
    request_timeout: float


class ChannelUnusable(Exception):
    """Discord says the bot cannot post there (403, unknown channel): the digest must be paused."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GaveUp(Exception):
    """A message could not be delivered: retries ran out or Discord refused it for good."""


def describe_failure(error: BaseException) -> str:
    if isinstance(error, discord.HTTPException):
        return f"{error.status} (code {error.code}): {error.text or error}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def call_with_retries(
    request: Callable[[], Awaitable[Any]],
    *,
    what: str,
    channel_id: int,
    policy: RetryPolicy,
    log_prefix: str,
    before_retry: Callable[[], Awaitable[Any | None]] | None = None,
) -> Any:
    """`request()`'s result under the rules above.

    Once an attempt timed out or lost its connection, Discord may have acted on it: every later retry
    first asks `before_retry`, and a result it finds is returned instead of retrying."""
    delays = policy.retry_delays
    outcome_unknown = False
    for attempt in range(len(delays) + 1):
        if outcome_unknown and before_retry is not None:
            found = await before_retry()
            if found is not None:
                return found
        try:
            return await asyncio.wait_for(request(), policy.request_timeout)
        except discord.HTTPException as error:
            if decisions.is_channel_unusable(error.status, error.code):
                reason = decisions.pause_reason(error.status, error.code, channel_id)
                raise ChannelUnusable(reason) from error
            if not decisions.is_transient(error.status):
                raise GaveUp(f"{what}: Discord refused it: {describe_failure(error)}") from error
            failure: BaseException = error
        except discord.RateLimited as error:
            failure = error
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            failure = error
            outcome_unknown = True
        if attempt == len(delays):
            detail = f"{what}: still failing after {attempt + 1} attempts: {describe_failure(failure)}"
            raise GaveUp(detail) from failure
        log.warning("%s: %s failed (%s); retrying in %.0fs", log_prefix, what, describe_failure(failure),
                    delays[attempt])
        await policy.sleep(delays[attempt])
    raise AssertionError("unreachable: the loop returns or raises")


async def find_posted(
    payload: Mapping[str, Any],
    *,
    bot_id: int,
    since: datetime,
    read_page: Callable[[int], Awaitable[list[dict[str, Any]]]],
    log_prefix: str,
) -> int | None:
    """The id of a message the bot already posted as this planned message, if any (`same_message`: its
    header line and embeds). `read_page(after)` reads the channel's messages after a snowflake; the channel
    is read forward from `since` (however busy it has been since), a page at a time, up to
    ADOPT_MAX_PAGES pages."""
    if message_key(payload) is None:
        return None
    author = str(bot_id)
    after = discord.utils.time_snowflake(since)
    for _page in range(ADOPT_MAX_PAGES):
        try:
            page = await read_page(after)
        except (GaveUp, ChannelUnusable) as error:
            log.warning("%s: could not look for an earlier attempt (%s); sending with its nonce",
                        log_prefix, error)
            return None
        for item in page:
            mine = item.get("author", {}).get("id") == author
            if mine and same_message(payload, item):
                log.info("%s: adopting message %s posted before an interruption", log_prefix, item["id"])
                return int(item["id"])
        if len(page) < ADOPT_PAGE_SIZE:
            return None
        after = max(int(item["id"]) for item in page)
    log.warning("%s: no earlier attempt among the first %d messages since the claim; sending with its "
                "nonce", log_prefix, ADOPT_PAGE_SIZE * ADOPT_MAX_PAGES)
    return None
