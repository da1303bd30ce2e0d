"""Every embed the bot shows, built from plain data, with one colour scheme and layout, always within limits.

Embeds are plain dicts in Discord API shape (the shell turns them into `discord.Embed.from_dict`). Corpus
strings pass through `text.clean` (or `text.plain` where Discord shows no markdown); links through
`text.safe_url`. `bot.render.message.message_problems` checks a whole payload against Discord's limits;
every function here produces payloads for which it returns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.corpus.model import Article, Rejection, Related
from bot.corpus.normalize import is_hostname
from bot.render.message import embed_length
from bot.render.text import (
    AUTHOR_NAME_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    clean,
    discord_timestamp,
    finish_excerpt,
    highlighted_pieces,
    link_target,
    neutralize_mentions,
    plain,
    safe_url,
    truncate,
)

T = TypeVar("T")

BRAND_COLOR = 0x3B82F6
NOTICE_COLORS = {"info": BRAND_COLOR, "warning": 0xF59E0B, "error": 0xEF4444}

#: How long one related-coverage title may get, so a long one does not crowd out the others.
RELATED_TITLE_LIMIT = 150
TOPICS_LIMIT = 300
SNIPPET_LIMIT = 300
LIST_TITLE_LIMIT = 200
STATS_REJECTED_SHOWN = 10

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RenderedEmbed:
    """An embed and the canonical URLs it shows as links (the article and each related item listed)."""

    embed: dict[str, Any]
    shown_urls: tuple[str, ...]


# --- small shared pieces


#: Quality (0–100) in words, best first: the least quality each word needs. Explained in /about.
QUALITY_WORDS = ((80, "Excellent"), (60, "Good"), (40, "Fair"), (0, "Basic"))
#: Heat (how much attention a story gets) in words; below the last threshold it says nothing worth showing.
HEAT_WORDS = ((100, "🔥 Hot story"), (25, "Getting attention"))


def quality_words(quality: int | None) -> str | None:
    """"Good quality" for 60–79 and so on (see `QUALITY_WORDS`); None when the article has no quality."""
    if quality is None:
        return None
    return next(f"{word} quality" for least, word in QUALITY_WORDS if quality >= least or least == 0)


def heat_words(heat: int | None) -> str | None:
    """"🔥 Hot story" or "Getting attention"; None for little or no measured heat (the corpus marks "not
    measured" with a negative heat), where a word would not help anyone."""
    if heat is None:
        return None
    return next((word for least, word in HEAT_WORDS if heat >= least), None)


def rating_line(quality: int | None, heat: int | None = None) -> str:
    """Quality and heat the same way everywhere, in words: "Good quality · 🔥 Hot story" (parts that say
    nothing are left out, so the line may be empty)."""
    return " · ".join(part for part in (quality_words(quality), heat_words(heat)) if part)


def masked_link(label: str, url: str | None) -> str:
    """`[label](url)` for a safe URL, else the label alone. `label` must already be cleaned."""
    safe = safe_url(url)
    return f"[{label}]({link_target(safe)})" if safe else label


def paginate(rows: Sequence[T], page_size: int) -> list[Sequence[T]]:
    """Rows split into pages of `page_size`; no rows gives no pages (callers reply with a notice)."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    return [rows[start : start + page_size] for start in range(0, len(rows), page_size)]


def _field(name: str, value: str, *, inline: bool = False) -> dict[str, Any]:
    return {
        "name": truncate(name, FIELD_NAME_LIMIT),
        "value": truncate(value, FIELD_VALUE_LIMIT),
        "inline": inline,
    }


def _footer(text: str) -> dict[str, str]:
    return {"text": truncate(text, FOOTER_LIMIT)}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _with_page_footer(embed: dict[str, Any], page: int, pages: int, *extra: str) -> dict[str, Any]:
    """Adds "Page n/N · …" as the footer (the page only when there are several); no footer when empty.
    The footer gets what the rest of the embed leaves of the 6000-character total."""
    parts = [f"Page {page}/{pages}"] if pages > 1 else []
    parts.extend(part for part in extra if part)
    room = min(FOOTER_LIMIT, EMBED_TOTAL_LIMIT - embed_length(embed))
    text = truncate(" · ".join(parts), room) if room > 0 else ""
    if text:
        embed["footer"] = {"text": text}
    return embed


def _join_within(blocks: Sequence[str], limit: int, *, separator: str = "\n") -> str:
    """Join whole blocks while they fit; the rest is summarised as "+N more"."""
    lines: list[str] = []
    used = 0
    for index, block in enumerate(blocks):
        remaining = len(blocks) - index - 1
        reserve = len(f"{separator}+{remaining} more") if remaining else 0
        cost = len(block) + (len(separator) if lines else 0)
        if used + cost + reserve > limit:
            lines.append(f"+{len(blocks) - index} more")
            break
        lines.append(block)
        used += cost
    return separator.join(lines)


# --- article


def _related_line(item: Related, *, linked: bool = True) -> str:
    title = truncate(clean(item.title) or clean(item.url), RELATED_TITLE_LIMIT)
    parts = [masked_link(title, item.url) if linked else title]
    details = []
    if item.provider is not None and item.provider.label:
        details.append(truncate(clean(item.provider.label), 80))
    if item.published_at is not None:
        details.append(discord_timestamp(item.published_at, "d"))
    if details:
        parts.append(" · ".join(details))
    return " — ".join(parts)


def _ranked_related(article: Article, related: Sequence[Related]) -> list[Related]:
    """Best quality first (unknown last), then newest; the article itself and repeated URLs dropped."""
    seen = {article.url}
    unique = []
    for item in related:
        if item.url not in seen:
            seen.add(item.url)
            unique.append(item)
    return sorted(
        unique,
        key=lambda item: (
            item.quality is None,
            -(item.quality or 0),
            -item.published_at.timestamp() if item.published_at else float("inf"),
        ),
    )


def _related_field(items: Sequence[Related], max_related: int, budget: int) -> tuple[str, list[str]]:
    """The "Related coverage" value and the URLs it links: whole lines while they fit, then "+N more"."""
    lines: list[str] = []
    shown: list[str] = []
    used = 0
    for index, item in enumerate(items):
        hidden_after = len(items) - index - 1
        reserve = len(f"\n+{hidden_after} more") if hidden_after else 0
        if index >= max_related:
            break
        linked = safe_url(item.url) is not None
        line = _related_line(item)
        if len(line) + reserve > budget:
            # A URL too long for any field: list the item unlinked rather than hide it.
            linked, line = False, _related_line(item, linked=False)
        cost = len(line) + (1 if lines else 0)
        if used + cost + reserve > budget:
            break
        lines.append(line)
        used += cost
        if linked:
            shown.append(item.url)
    hidden = len(items) - len(lines)
    if hidden:
        lines.append(f"+{hidden} more")
    return "\n".join(lines), shown


def article_embed(
    article: Article,
    *,
    related: Sequence[Related] | None = None,
    max_related: int = 10,
    excerpt_limit: int = DESCRIPTION_LIMIT,
) -> RenderedEmbed:
    """The article as a rich embed with its related coverage (defaults to `article.related`).

    Fixed-size parts come first; related coverage gets at most one field value; the excerpt gets whatever
    is left of the 6000-character total, so the embed never overflows however long the corpus text is.
    """
    title = truncate(clean(article.title) or clean(article.url), TITLE_LIMIT)
    embed: dict[str, Any] = {"title": title, "color": BRAND_COLOR}
    shown: list[str] = []
    article_url = safe_url(article.url)
    if article_url:
        embed["url"] = article_url
        shown.append(article.url)
    if article.provider is not None and article.provider.label:
        author: dict[str, str] = {"name": truncate(plain(article.provider.label), AUTHOR_NAME_LIMIT)}
        domain = article.provider.domain
        home = safe_url(f"https://{domain}") if domain and is_hostname(domain) else None
        if home:
            author["url"] = home
        embed["author"] = author
    thumbnail = safe_url(article.image)
    if thumbnail:
        embed["thumbnail"] = {"url": thumbnail}
    embed["timestamp"] = _iso(article.published_at)

    fields = [_field("Published", discord_timestamp(article.published_at, "D"), inline=True)]
    rating = rating_line(article.quality, article.heat)
    if rating:
        fields.append(_field("Rating", rating, inline=True))
    if article.topics:
        topics = truncate(", ".join(clean(topic) for topic in article.topics), TOPICS_LIMIT)
        fields.append(_field("Topics", topics, inline=True))
    embed["footer"] = _footer(f"ID {article.id} · /article" if article.id else "/article")

    items = _ranked_related(article, article.related if related is None else related)
    related_name = "Related coverage"
    if items:
        budget = min(FIELD_VALUE_LIMIT, EMBED_TOTAL_LIMIT - embed_length({**embed, "fields": fields}))
        value, related_urls = _related_field(items, max(max_related, 0), budget - len(related_name))
        fields.append({"name": related_name, "value": value, "inline": False})
        shown.extend(related_urls)
    embed["fields"] = fields

    excerpt = clean(finish_excerpt(article.excerpt or ""))
    if excerpt:
        room = min(excerpt_limit, DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_length(embed))
        if room > 0:
            embed["description"] = truncate(excerpt, room)
    return RenderedEmbed(embed=embed, shown_urls=tuple(shown))


# --- lists and pages


def _byline(article: Article, *, with_quality: bool = False) -> str:
    """outlet · date (· quality in words): the line under every listed title. No id: the page's menu
    opens an article, and /article shows its id."""
    parts = []
    if article.provider is not None and article.provider.label:
        parts.append(truncate(clean(article.provider.label), 80))
    parts.append(discord_timestamp(article.published_at, "d"))
    quality = quality_words(article.quality) if with_quality else None
    if quality:
        parts.append(quality)
    return " · ".join(parts)


def _joined_matches(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Matches separated only by spaces become one ("**facial recognition**", not two bold words)."""
    joined: list[tuple[str, bool]] = []
    for text, bold in pieces:
        if bold and len(joined) >= 2 and joined[-2][1] and not joined[-1][1] and not joined[-1][0].strip():
            gap = joined.pop()[0]
            joined[-1] = (joined[-1][0] + gap + text, True)
        else:
            joined.append((text, bold))
    return joined


def highlight_snippet(snippet: str, limit: int = SNIPPET_LIMIT) -> str:
    """A search snippet (matches between `HIGHLIGHT_START`/`HIGHLIGHT_END`) with the matches in bold and
    everything else escaped; an excerpt the source cut mid-sentence ends with "…".

    Truncation never splits a highlight: a cut highlight is closed again.
    """
    pieces = _joined_matches(highlighted_pieces(snippet))
    whole = "".join(text for text, _ in pieces)
    if pieces and finish_excerpt(whole) != whole.rstrip():
        last, bold = pieces[-1]
        pieces[-1:] = [(last, True), ("…", False)] if bold else [(finish_excerpt(last), False)]
    out = ""
    for raw, bold in pieces:
        rendered = _WHITESPACE.sub(" ", clean(raw))
        room = limit - len(out) - (4 if bold else 0)
        if len(rendered) <= room:
            out += f"**{rendered}**" if bold else rendered
            continue
        cut = truncate(rendered, room) if room > 1 else ""
        if len(cut) > 1:
            out += f"**{cut}**" if bold else cut
        elif len(out) < limit:
            out += "…"
        break
    return out


def _listed_title(article: Article, room: int, rest: int) -> str:
    """The bold title, linked when the link fits in `room` next to `rest` characters of its block (and
    the two line breaks between them)."""
    name = truncate(clean(article.title) or clean(article.url), LIST_TITLE_LIMIT)
    link = masked_link(name, article.url)
    return f"**{link}**" if len(link) + 4 + rest + 2 <= room else f"**{name}**"


def _only_the_title(article: Article, snippet: str) -> bool:
    """Whether the snippet says nothing but the title again (some feeds use the title as the excerpt)."""
    def words(text: str) -> str:
        return " ".join(text.replace("…", " ").split()).casefold().rstrip(".!?:")

    passage = words("".join(text for text, _ in highlighted_pieces(snippet)))
    return bool(passage) and passage == words(article.title)


def results_page(
    title: str,
    hits: Sequence[tuple[Article, str]],
    *,
    page: int,
    pages: int,
    summary: str,
    footer_hint: str = "",
) -> dict[str, Any]:
    """One page of search results, as a search engine shows them: the linked title, outlet · date, and a
    passage of the article's own excerpt with the matched words in bold (nothing when it has none).

    `summary` says how many results there are ("12 results"); `footer_hint` what else the reader should
    know (filters in force). Open an article through the page's menu (`article_menu_options`).
    """
    per_hit = (DESCRIPTION_LIMIT - 2 * len(hits)) // max(len(hits), 1)
    blocks = []
    for article, snippet in hits:
        byline = _byline(article)
        # The passage gets what the unlinked title and the byline leave, so the block is never cut short
        # (which could split a highlight); the title is linked when the link fits as well.
        room = per_hit - len(_listed_title(article, 0, 0)) - len(byline) - 2
        text = "" if _only_the_title(article, snippet) else highlight_snippet(
            snippet, min(SNIPPET_LIMIT, max(room, 0))
        )
        heading = _listed_title(article, per_hit, len(byline) + len(text))
        block = "\n".join(part for part in (heading, byline, text) if part)
        blocks.append(truncate(block, per_hit))
    embed: dict[str, Any] = {
        "title": truncate(clean(title), TITLE_LIMIT),
        "color": BRAND_COLOR,
        "description": _join_within(blocks, DESCRIPTION_LIMIT, separator="\n\n"),
    }
    return _with_page_footer(embed, page, pages, plain(summary), plain(footer_hint))


def article_list(
    title: str,
    articles: Sequence[Article],
    *,
    description: str | None = None,
    page: int = 1,
    pages: int = 1,
    summary: str = "",
    with_quality: bool = False,
) -> dict[str, Any]:
    """A list of articles (latest, top): the linked title and outlet · date (and the quality in words
    when the list is ordered by it). `description` is escaped; `summary` goes in the footer."""
    intro = clean(description)
    budget = DESCRIPTION_LIMIT - (len(intro) + 2 if intro else 0)
    per_article = budget // max(len(articles), 1) - 2
    blocks = []
    for article in articles:
        byline = _byline(article, with_quality=with_quality)
        heading = _listed_title(article, per_article, len(byline))
        blocks.append(truncate(f"{heading}\n{byline}", per_article))
    body = _join_within(blocks, budget, separator="\n\n")
    text = f"{intro}\n\n{body}" if intro else body
    embed: dict[str, Any] = {
        "title": truncate(clean(title), TITLE_LIMIT),
        "color": BRAND_COLOR,
        "description": truncate(text, DESCRIPTION_LIMIT),
    }
    return _with_page_footer(embed, page, pages, plain(summary))


#: Discord's limits on a select menu option's label, value and description.
MENU_TEXT_LIMIT = 100
MENU_OPTIONS_LIMIT = 25


def article_menu_options(articles: Sequence[Article]) -> list[dict[str, str]]:
    """The options of a page's "Open an article…" menu: the title as label, outlet · date as description,
    the id as value. Select menus show no markdown, so the text is plain; an id too long to be a value is
    left out (the corpus's ids are 16 hex digits)."""
    options = []
    for article in articles:
        if not article.id or len(article.id) > MENU_TEXT_LIMIT:
            continue
        label = truncate(plain(article.title) or plain(article.url), MENU_TEXT_LIMIT) or article.id
        details = []
        if article.provider is not None and article.provider.label:
            details.append(plain(article.provider.label))
        published = article.published_at.astimezone(UTC)
        details.append(f"{published.day} {published:%b %Y}")
        option = {"label": label, "value": article.id}
        option["description"] = truncate(" · ".join(details), MENU_TEXT_LIMIT)
        options.append(option)
    return options[:MENU_OPTIONS_LIMIT]


def counts_page(title: str, rows: Sequence[tuple[str, int]], *, page: int, pages: int) -> dict[str, Any]:
    """Names with their article counts (topics, providers), one per line."""
    lines = [f"{truncate(clean(name), 200)} — **{count}**" for name, count in rows]
    embed: dict[str, Any] = {
        "title": truncate(clean(title), TITLE_LIMIT),
        "color": BRAND_COLOR,
        "description": _join_within(lines, DESCRIPTION_LIMIT),
    }
    return _with_page_footer(embed, page, pages)


def _describe_rejection(item: object) -> str:
    if isinstance(item, Rejection):
        kept = " (previous version kept)" if item.kept_previous else ""
        return f"{clean(item.file)}: {clean(item.reason)}{kept}"
    return clean(str(item))


def stats_embed(stats: Mapping[str, object]) -> dict[str, Any]:
    """The corpus at a glance.

    Reads `articles`, `providers`, `topics` (counts), `oldest`/`newest` (datetimes: the date range),
    `last_load_at` (datetime), `last_load` (load sequence number) and `rejected` (Rejections or strings);
    absent keys are left out.
    """
    fields = []
    for key, label in (("articles", "Articles"), ("providers", "Providers"), ("topics", "Topics")):
        count = stats.get(key)
        if isinstance(count, int):
            fields.append(_field(label, f"{count:,}", inline=True))
    oldest, newest = stats.get("oldest"), stats.get("newest")
    if isinstance(oldest, datetime) and isinstance(newest, datetime):
        fields.append(_field("Date range", f"{discord_timestamp(oldest)} – {discord_timestamp(newest)}"))
    last_load_at = stats.get("last_load_at")
    if isinstance(last_load_at, datetime):
        sequence = stats.get("last_load")
        prefix = f"#{sequence} · " if isinstance(sequence, int) else ""
        when = f"{discord_timestamp(last_load_at, 'f')} ({discord_timestamp(last_load_at, 'R')})"
        fields.append(_field("Last load", prefix + when))
    rejected = stats.get("rejected")
    rejected = list(rejected) if isinstance(rejected, Sequence) and not isinstance(rejected, str) else []
    if rejected:
        shown = [truncate(_describe_rejection(item), 200) for item in rejected[:STATS_REJECTED_SHOWN]]
        if len(rejected) > len(shown):
            shown.append(f"… and {len(rejected) - len(shown)} more")
        fields.append(_field(f"Rejected files ({len(rejected)})", _join_within(shown, FIELD_VALUE_LIMIT)))
    else:
        fields.append(_field("Rejected files", "None"))
    return {"title": "Corpus statistics", "color": BRAND_COLOR, "fields": fields}


def notice(text: str, *, kind: str = "info") -> dict[str, Any]:
    """A short friendly reply. `text` is the bot's own wording (markdown allowed): pass user or corpus
    strings through `clean` first. Mentions are neutralised regardless."""
    if kind not in NOTICE_COLORS:
        raise ValueError(f"unknown notice kind {kind!r}; use one of {', '.join(NOTICE_COLORS)}")
    return {
        "color": NOTICE_COLORS[kind],
        "description": truncate(neutralize_mentions(text), DESCRIPTION_LIMIT),
    }
