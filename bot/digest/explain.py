"""Why an article would or would not be in a digest's next run, in words people can act on.

The answer is derived from the very selection and rendering the run uses, so it cannot disagree with what
the run would post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from bot.corpus.model import Article
from bot.digest.model import Story
from bot.digest.plan import delivered_urls, render_selection
from bot.digest.select import DigestContext, Selection, is_new, passes_filters, select_stories


@dataclass(frozen=True, slots=True)
class Explanation:
    """`included`: the article leads a story or is listed as related coverage in the next run.

    `reason` is one sentence for people; `detail` are short facts behind it (ids, numbers, dates).
    """

    included: bool
    reason: str
    detail: tuple[str, ...] = ()


def explain(article_id: str, pool: Sequence[Article], ctx: DigestContext) -> Explanation:
    """Why the article `article_id` would or would not be in the digest's next run."""
    name = ctx.settings.name
    article = next((candidate for candidate in pool if candidate.id == article_id), None)
    if article is None:
        return Explanation(False, f"Article {article_id} is not in the corpus.")

    facts = (f"article {article.id}: {article.title}", f"url {article.url}")
    delivered = ctx.delivered.get(article.url)
    if delivered is not None:
        when = f"{delivered.delivered_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        return Explanation(
            False,
            f"It was already delivered to this channel on {when} by digest {delivered.digest!r}.",
            (*facts, f"delivered at {delivered.delivered_at.isoformat()}", f"by digest {delivered.digest}"),
        )
    failed = passes_filters(article, ctx)
    if failed is not None:
        return Explanation(False, f"Filtered out by digest {name!r}: {failed}.", facts)

    selection = select_stories(pool, ctx)
    loads = f"first seen in load {article.first_load}, digest created at load {ctx.watermark}"
    origin = "new since the digest was created" if is_new(article, ctx) else "from the first run's backlog"
    for position, story in enumerate(selection.stories, start=1):
        if story.lead.id == article.id:
            return Explanation(
                True,
                f"It leads story {position} of {len(selection.stories)} in the next run ({origin}).",
                (*facts, loads),
            )
        if selection.folded_into.get(article.id) == story.lead.id:
            return _explain_folded(article, story, ctx, selection, (*facts, loads))

    for position, story in enumerate(selection.cut, start=len(selection.stories) + 1):
        if story.lead.id == article.id or selection.folded_into.get(article.id) == story.lead.id:
            role = "its story" if story.lead.id == article.id else f"the story led by {story.lead.id}"
            return Explanation(
                False,
                f"Cut by max_articles: {role} ranks {position}, and digest {name!r} posts at most "
                f"{ctx.settings.max_articles} stories.",
                (*facts, loads, f"story rank {position}"),
            )

    if not ctx.first_run:
        return Explanation(
            False,
            f"It was in the corpus before digest {name!r} was created, and after the first run only new "
            "articles are posted.",
            (*facts, loads),
        )
    rank = selection.existing_ranked.index(article.id) + 1
    return Explanation(
        False,
        f"It existed before digest {name!r} was created and ranks {rank} among those articles, outside "
        f"the first run's backlog of {ctx.settings.backlog}.",
        (*facts, loads, f"backlog rank {rank}"),
    )


def _explain_folded(
    article: Article, story: Story, ctx: DigestContext, selection: Selection, facts: tuple[str, ...]
) -> Explanation:
    """A folded article is in when its link is actually listed, not left to the story's "+N" button."""
    lead = story.lead
    shown = delivered_urls(render_selection(ctx, selection, slot=None))
    detail = (*facts, f"story lead {lead.id}: {lead.title}")
    if article.url in shown:
        return Explanation(
            True,
            f"It covers the same story as {lead.id} ({lead.title!r}) and is listed as its related coverage.",
            detail,
        )
    return Explanation(
        False,
        f"It covers the same story as {lead.id} ({lead.title!r}), folded into it but not listed: it is "
        "counted in the story's \"+N\" and shown by its coverage button (max_related is "
        f"{ctx.settings.max_related}).",
        detail,
    )
