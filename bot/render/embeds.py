"""Every embed the bot shows, built from plain data, with one colour scheme and layout, always within limits.

Embeds are plain dicts in Discord API shape (the shell turns them into `discord.Embed.from_dict`). Corpus
strings pass through `text.clean` (or `text.plain` where Discord shows no markdown); links through
`text.safe_url`. `message_problems` checks a whole payload against Discord's limits; every function here
produces payloads for which it returns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.corpus.model import Article, Rejection, Related
from bot.corpus.normalize import is_hostname
from bot.render.text import (
    AUTHOR_NAME_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_COUNT_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    TITLE_LIMIT,
    clean,
    discord_timestamp,
    link_target,
    neutralize_mentions,
    plain,
    safe_url,
    truncate,
)

T = TypeVar("T")

BRAND_COLOR = 0x3B82F6
NOTICE_COLORS = {"info": BRAND_COLOR, "warning": 0xF59E0B, "error": 0xEF4444}
NO_MENTIONS: dict[str, list[str]] = {"parse": []}

#: How long one related-coverage title may get, so a long one does not crowd out the others.
RELATED_TITLE_LIMIT = 150
TOPICS_LIMIT = 300
SNIPPET_LIMIT = 300
LIST_TITLE_LIMIT = 200
STATS_REJECTED_SHOWN = 10

_SIMPLE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HIGHLIGHT = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RenderedEmbed:
    """An embed and the canonical URLs it shows as links (the article and each related item listed)."""

    embed: dict[str, Any]
    shown_urls: tuple[str, ...]


# --- small shared pieces


def score_line(quality: int | None, heat: int | None = None) -> str:
    """Quality and heat the same way everywhere: "Quality 61 · Heat 12" (missing parts left out; the
    corpus marks "no heat measured" with a negative heat, which is not shown)."""
    parts = []
    if quality is not None:
        parts.append(f"Quality {quality}")
    if heat is not None and heat >= 0:
        parts.append(f"Heat {heat}")
    return " · ".join(parts)


def id_label(article_id: str) -> str:
    """The article id as users should copy it into /article: code-formatted when it is a plain token."""
    if _SIMPLE_ID.fullmatch(article_id):
        return f"`{article_id}`"
    return clean(article_id)


def masked_link(label: str, url: str | None) -> str:
    """`[label](url)` for a safe URL, else the label alone. `label` must already be cleaned."""
    safe = safe_url(url)
    return f"[{label}]({link_target(safe)})" if safe else label


def embed_length(embed: Mapping[str, Any]) -> int:
    """What Discord counts toward the 6000-character total: title, description, fields, footer, author."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for item in embed.get("fields") or ():
        total += len(item.get("name") or "") + len(item.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


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
    if item.quality is not None:
        details.append(f"Quality {item.quality}")
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
    score = score_line(article.quality, article.heat)
    if score:
        fields.append(_field("Score", score, inline=True))
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

    excerpt = clean(article.excerpt)
    if excerpt:
        room = min(excerpt_limit, DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_length(embed))
        if room > 0:
            embed["description"] = truncate(excerpt, room)
    return RenderedEmbed(embed=embed, shown_urls=tuple(shown))


# --- lists and pages


def _byline(article: Article) -> str:
    """provider · date · Quality N · Heat N · ID `x` — the line every listed article carries."""
    parts = []
    if article.provider is not None and article.provider.label:
        parts.append(truncate(clean(article.provider.label), 80))
    parts.append(discord_timestamp(article.published_at, "d"))
    score = score_line(article.quality, article.heat)
    if score:
        parts.append(score)
    if article.id:
        parts.append(f"ID {id_label(article.id)}")
    return " · ".join(parts)


def highlight_snippet(snippet: str, limit: int = SNIPPET_LIMIT) -> str:
    """A search snippet with the store's `**match**` markers kept as bold and everything else escaped.

    Truncation never splits a highlight: a cut highlight is closed again.
    """
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _HIGHLIGHT.finditer(snippet):
        if match.start() > position:
            pieces.append((snippet[position : match.start()], False))
        pieces.append((match.group(1), True))
        position = match.end()
    if position < len(snippet):
        pieces.append((snippet[position:], False))

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


def results_page(
    title: str,
    hits: Sequence[tuple[Article, str]],
    *,
    page: int,
    pages: int,
    total: int,
    footer_hint: str,
) -> dict[str, Any]:
    """One page of search results: linked title, byline with id, highlighted snippet per hit."""
    per_hit = (DESCRIPTION_LIMIT - 2 * len(hits)) // max(len(hits), 1)
    blocks = []
    for article, snippet in hits:
        name = truncate(clean(article.title), LIST_TITLE_LIMIT)
        byline = _byline(article)
        text = highlight_snippet(snippet, min(SNIPPET_LIMIT, max(per_hit // 3, 0)))
        link = masked_link(name, article.url)
        if len(link) + len(byline) + len(text) + 6 > per_hit:
            link = name
        block = "\n".join(part for part in (f"**{link}**", byline, text) if part)
        blocks.append(truncate(block, per_hit))
    noun = "result" if total == 1 else "results"
    embed: dict[str, Any] = {
        "title": truncate(clean(title), TITLE_LIMIT),
        "color": BRAND_COLOR,
        "description": _join_within(blocks, DESCRIPTION_LIMIT, separator="\n\n"),
    }
    return _with_page_footer(embed, page, pages, f"{total} {noun}", plain(footer_hint))


def article_list(
    title: str,
    articles: Sequence[Article],
    *,
    description: str | None = None,
    page: int = 1,
    pages: int = 1,
) -> dict[str, Any]:
    """A list of articles (latest, top): linked title and byline with id. `description` is escaped."""
    intro = clean(description)
    budget = DESCRIPTION_LIMIT - (len(intro) + 2 if intro else 0)
    per_article = budget // max(len(articles), 1) - 2
    blocks = []
    for article in articles:
        name = truncate(clean(article.title), LIST_TITLE_LIMIT)
        byline = _byline(article)
        link = masked_link(name, article.url)
        if len(link) + len(byline) + 1 > per_article:
            link = name
        blocks.append(truncate(f"**{link}**\n{byline}", per_article))
    body = _join_within(blocks, budget, separator="\n\n")
    text = f"{intro}\n\n{body}" if intro else body
    embed: dict[str, Any] = {
        "title": truncate(clean(title), TITLE_LIMIT),
        "color": BRAND_COLOR,
        "description": truncate(text, DESCRIPTION_LIMIT),
    }
    return _with_page_footer(embed, page, pages, "Open one with /article id")


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


# --- whole messages


def message(embeds: Sequence[dict[str, Any]], content: str | None = None) -> dict[str, Any]:
    """A complete payload that pings nobody. Raises ValueError if it breaks a limit (a rendering bug)."""
    payload: dict[str, Any] = {
        "content": neutralize_mentions(content) if content else None,
        "embeds": list(embeds),
        "allowed_mentions": dict(NO_MENTIONS),
    }
    problems = message_problems(payload)
    if problems:
        raise ValueError("message breaks Discord limits: " + "; ".join(problems))
    return payload


def _url_problem(where: str, url: object) -> list[str]:
    if url is None:
        return []
    if not isinstance(url, str) or safe_url(url) is None:
        return [f"{where} is not a safe http(s) URL: {str(url)[:80]!r}"]
    return []


def _embed_problems(index: int, embed: Mapping[str, Any]) -> list[str]:
    where = f"embed {index + 1}"
    problems = []
    checks = (
        ("title", embed.get("title"), TITLE_LIMIT),
        ("description", embed.get("description"), DESCRIPTION_LIMIT),
        ("footer text", (embed.get("footer") or {}).get("text"), FOOTER_LIMIT),
        ("author name", (embed.get("author") or {}).get("name"), AUTHOR_NAME_LIMIT),
    )
    for label, value, limit in checks:
        if value is not None and len(value) > limit:
            problems.append(f"{where} {label} has {len(value)} characters (limit {limit})")
    footer = embed.get("footer")
    if footer is not None and not (footer.get("text") or "").strip():
        problems.append(f"{where} has a footer without text")
    fields = embed.get("fields") or []
    if len(fields) > FIELD_COUNT_LIMIT:
        problems.append(f"{where} has {len(fields)} fields (limit {FIELD_COUNT_LIMIT})")
    for number, item in enumerate(fields, start=1):
        name, value = item.get("name") or "", item.get("value") or ""
        if not name.strip() or not value.strip():
            problems.append(f"{where} field {number} has an empty name or value")
        if len(name) > FIELD_NAME_LIMIT:
            problems.append(
                f"{where} field {number} name has {len(name)} characters (limit {FIELD_NAME_LIMIT})"
            )
        if len(value) > FIELD_VALUE_LIMIT:
            problems.append(
                f"{where} field {number} value has {len(value)} characters (limit {FIELD_VALUE_LIMIT})"
            )
    problems += _url_problem(f"{where} url", embed.get("url"))
    problems += _url_problem(f"{where} author url", (embed.get("author") or {}).get("url"))
    for part in ("thumbnail", "image"):
        problems += _url_problem(f"{where} {part} url", (embed.get(part) or {}).get("url"))
    if embed_length(embed) == 0 and not embed.get("thumbnail") and not embed.get("image"):
        problems.append(f"{where} is empty")
    return problems


def message_problems(payload: Mapping[str, Any]) -> list[str]:
    """Every way `payload` breaks Discord's limits or our no-ping rule; empty when it may be sent."""
    problems = []
    content = payload.get("content")
    embeds = payload.get("embeds") or []
    if content is not None and len(content) > CONTENT_LIMIT:
        problems.append(f"content has {len(content)} characters (limit {CONTENT_LIMIT})")
    if not content and not embeds:
        problems.append("message has neither content nor embeds")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append(f"message has {len(embeds)} embeds (limit {EMBEDS_PER_MESSAGE})")
    for index, embed in enumerate(embeds):
        problems += _embed_problems(index, embed)
    total = sum(embed_length(embed) for embed in embeds)
    if total > EMBED_TOTAL_LIMIT:
        problems.append(f"embeds total {total} characters (limit {EMBED_TOTAL_LIMIT})")
    if payload.get("allowed_mentions") != NO_MENTIONS:
        problems.append("allowed_mentions must be {'parse': []} so nothing can ping")
    return problems
