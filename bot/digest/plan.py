"""A digest run's plan: select the stories, render them, and know what each message delivers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.corpus.model import Article
from bot.digest.model import Plan
from bot.digest.select import DigestContext, Selection, select_stories
from bot.render.digest import DigestHeader, render_digest


def render_selection(ctx: DigestContext, selection: Selection, *, slot: datetime | None) -> Plan:
    """The selection's stories as the exact messages the run posts (no stories → an empty plan); `slot`
    is the instant the header shows (None leaves it out)."""
    settings = ctx.settings
    header = DigestHeader(settings.display_title, slot, len(selection.stories))
    messages = render_digest(
        header, selection.stories, max_related=settings.max_related, mode=settings.mode,
        style=settings.style, color=settings.color, footer=settings.footer,
    )
    return Plan(digest=settings.name, messages=tuple(messages))


def compose_plan(
    ctx: DigestContext, pool: Iterable[Article], *, slot: datetime | None
) -> tuple[Plan, Selection]:
    """The plan of the digest's next run from the pool, and the selection behind it (for explain/logs)."""
    selection = select_stories(pool, ctx)
    return render_selection(ctx, selection, slot=slot), selection


def delivered_urls(plan: Plan) -> frozenset[str]:
    """Every canonical URL the plan shows (leads and listed related links): what posting it delivers."""
    return frozenset(url for message in plan.messages for url in message.delivered_urls)
