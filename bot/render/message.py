"""A whole message: the payload the bot sends, and the check that it keeps Discord's limits and pings
nobody (or exactly the one role a digest opted into).

discord.py checks none of Discord's limits; every payload the renderer builds passes `message_problems`
with nothing to say, and `message` refuses one that would not (a rendering bug, never sent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    neutralize_mentions,
    safe_url,
)

NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def embed_length(embed: Mapping[str, Any]) -> int:
    """What Discord counts toward the 6000-character total: title, description, fields, footer, author."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for item in embed.get("fields") or ():
        total += len(item.get("name") or "") + len(item.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


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
    mentions = payload.get("allowed_mentions")
    if mentions != NO_MENTIONS and not _pings_one_role(mentions, content):
        problems.append("allowed_mentions must be {'parse': []} so nothing can ping (or name the one role "
                        "the content pings)")
    return problems


def role_mentions(role_id: int) -> dict[str, Any]:
    """allowed_mentions letting exactly one role be pinged: nothing parsed, no user, no @everyone."""
    return {"parse": [], "roles": [str(role_id)]}


def _pings_one_role(mentions: object, content: str | None) -> bool:
    """Whether `mentions` allows exactly one role and the content mentions that role."""
    if not isinstance(mentions, Mapping) or set(mentions) != {"parse", "roles"} or mentions["parse"] != []:
        return False
    roles = mentions["roles"]
    if not isinstance(roles, list) or len(roles) != 1 or not str(roles[0]).isdigit():
        return False
    return mentions == role_mentions(int(roles[0])) and f"<@&{int(roles[0])}>" in (content or "")
