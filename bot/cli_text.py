"""What the command line prints: load reports, articles and search snippets, as terminal text or JSON.

Plain text for a terminal: no Discord markdown; matched words in ANSI bold only when `use_color` says so.
`/admin reload corpus` attaches the same load report JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import Any

from bot.render.text import finish_excerpt, highlighted_pieces, iso_utc


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def load_report_json(report: Any) -> dict[str, object]:
    """The `load --json` object (also attached by `/admin reload corpus`)."""
    return {
        "load": report.load,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "articles": report.articles,
        "rejected": [{"file": r.file, "reason": r.reason} for r in report.rejected],
        "duplicates": [{"file": d.file, "duplicate_of": d.duplicate_of} for d in report.duplicates],
    }


def format_load_report(report: Any) -> str:
    """A load report as operators read it on a terminal."""
    lines = [
        f"load #{report.load}: {report.articles} articles in service — "
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.rejected)} rejected, {len(report.duplicates)} duplicate"
    ]
    for rejection in report.rejected:
        kept = " (its last good version stays in service)" if rejection.kept_previous else ""
        lines.append(f"  rejected {rejection.file}: {rejection.reason}{kept}")
    for duplicate in report.duplicates:
        lines.append(f"  duplicate {duplicate.file}: same article as {duplicate.duplicate_of}")
    for warning in report.warnings:
        lines.append(f"  warning {warning} (the value was dropped, the article kept)")
    return "\n".join(lines)


BOLD, NOT_BOLD = "\x1b[1m", "\x1b[22m"


def use_color(args: argparse.Namespace, stream: Any = None) -> bool:
    """Bold only on a terminal, and never with `--no-color` or a non-empty `NO_COLOR` (no-color.org)."""
    stream = sys.stdout if stream is None else stream
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def snippet_text(snippet: str, *, bold: bool) -> str:
    """A search snippet as terminal text: the matches in ANSI bold (or plain), an excerpt the source cut
    mid-sentence ending with "…"."""
    pieces = highlighted_pieces(snippet)
    whole = "".join(text for text, _ in pieces)
    out = "".join(f"{BOLD}{text}{NOT_BOLD}" if matched and bold else text for text, matched in pieces)
    if finish_excerpt(whole) != whole.rstrip():
        out = out.rstrip().rstrip(" ,;:–—-") + "…"
    return out


def snippet_json(snippet: str) -> tuple[str, list[list[int]]]:
    """A snippet as plain text and the [start, end) offsets of its matched words in that text."""
    text, spans = "", []
    for piece, matched in highlighted_pieces(snippet):
        if matched:
            spans.append([len(text), len(text) + len(piece)])
        text += piece
    return text, spans


def heat_value(article: Any) -> int | None:
    """The corpus marks "no heat measured" with a negative heat: that is no value, not a value."""
    return article.heat if article.heat is not None and article.heat >= 0 else None


def article_json(article: Any, *, snippet: str | None = None) -> dict[str, object]:
    """The `search --json` shape of one article: `snippet` is plain text, `highlights` the offsets of the
    matched words in it."""
    result: dict[str, object] = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "provider": article.provider.label if article.provider else None,
        "published_at": iso_or_none(article.published_at),
        "quality": article.quality,
        "topics": list(article.topics),
    }
    if snippet is not None:
        result["snippet"], result["highlights"] = snippet_json(snippet)
    return result


def article_detail_json(article: Any) -> dict[str, object]:
    """The `show --json` shape: the article with its related coverage (never `secured`)."""
    return {
        "id": article.id,
        "title": article.title,
        "excerpt": article.excerpt,
        "url": article.url,
        "provider": article.provider.label if article.provider else None,
        "published_at": iso_or_none(article.published_at),
        "quality": article.quality,
        "heat": heat_value(article),
        "topics": list(article.topics),
        "image": article.image,
        "related": [
            {
                "title": item.title,
                "url": item.url,
                "provider": item.provider.label if item.provider else None,
                "published_at": iso_or_none(item.published_at),
                "quality": item.quality,
                "excerpt": item.excerpt,
            }
            for item in article.related
        ],
    }


def facts_line(article: Any) -> str:
    """Outlet, date, and the quality and heat an article has: what it lacks is left out, never shown as
    a placeholder."""
    facts = [article.provider.label] if article.provider is not None and article.provider.label else []
    facts.append(f"{article.published_at:%Y-%m-%d}")
    if article.quality is not None:
        facts.append(f"quality {article.quality}")
    heat = heat_value(article)
    if heat is not None:
        facts.append(f"heat {heat}")
    return " · ".join(facts)
