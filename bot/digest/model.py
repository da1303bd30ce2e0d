"""Plain data for digests: a story (one lead and the other outlets' coverage), a run's plan, and how a
run ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.corpus.model import Article, Related

#: A Discord message body exactly as it is sent: {"content", "embeds", "allowed_mentions", ...}.
Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Story:
    """Articles covering the same story, merged: the best leads, the rest is its related coverage.

    `related` is every other outlet's piece, best quality first (folded-in corpus articles appear here as
    Related entries too); `folded` lists the corpus articles merged into this story besides the lead.
    """

    lead: Article
    related: tuple[Related, ...] = ()
    folded: tuple[Article, ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """One message of a plan and what posting it delivers.

    `delivered_urls` are the canonical URLs shown in it (leads and listed related links, not those only
    counted as "+N" behind the story's coverage button); `article_ids` are the corpus articles it leads
    with. `in_thread` marks item messages that go into the thread opened on the header (thread mode).
    """

    payload: Payload
    article_ids: tuple[str, ...] = ()
    delivered_urls: tuple[str, ...] = ()
    in_thread: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The exact messages one digest run posts, in order. Empty `messages` means nothing to post."""

    digest: str
    messages: tuple[PlannedMessage, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.messages


#: A manual run that was not started (one already runs, or the hourly budget is spent).
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one run ended: its ledger status (`posted`, `partial`, `empty`, `failed`, `paused`), or
    `refused` for a manual run that was not started, with `detail` saying why."""

    digest: str
    slot_key: str | None
    status: str
    messages_sent: int = 0
    messages_planned: int = 0
    detail: str | None = None
