"""Log-channel announcements: one embed per event, in which members, channels and roles are mentions
(`<@id>`, `<#id>`, `<@&id>`: inside an embed they never ping, and the payload allows no mentions), servers
are named, and every name from Discord or the corpus is escaped and can never become a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render.embeds import NOTICE_COLORS
from bot.render.message import message
from bot.render.text import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    embed_text,
    name_text,
    truncate,
)

#: How much of a name an announcement shows (Discord names are short; a corpus or typed one may not be).
NAME_SHOWN = 100


def server_label(name: str | None, guild_id: int) -> str:
    """A server by its name (escaped), or by its id when the bot does not know it (any more)."""
    return name_text(truncate(name, NAME_SHOWN)) if name else f"`{guild_id}`"


def member_label(user_id: int | None) -> str:
    """Who did it: the member as a mention, or the bot itself."""
    return "the bot (automatic)" if user_id is None else f"<@{user_id}>"


def announcement(
    *, title: str, description: str, fields: Sequence[tuple[str, str]], kind: str = "info"
) -> dict[str, Any]:
    """One log-channel message. `title` and `description` are the bot's own wording, already escaped;
    `fields` are (label, value) pairs shown side by side, values already escaped or mentions."""
    embed: dict[str, Any] = {
        "color": NOTICE_COLORS[kind],
        "title": truncate(title, TITLE_LIMIT),
        "description": truncate(description, DESCRIPTION_LIMIT),
    }
    if fields:
        embed["fields"] = [
            {"name": label, "value": truncate(value, FIELD_VALUE_LIMIT), "inline": True}
            for label, value in fields
            if value
        ]
    return message([embed])


def audit_announcement(
    *,
    action: str,
    outcome: str,
    summary: str,
    target: str | None,
    actor_id: int | None,
    server: str | None,
    kind: str,
    note: str | None = None,
) -> dict[str, Any]:
    """An admin action or refusal: what, how it ended, the summary, who, where and on what. `note` is a
    line of the bot's own (markdown allowed) after the summary."""
    fields = [("By", member_label(actor_id))]
    if server is not None:
        fields.append(("Server", server))
    if target:
        fields.append(("Target", name_text(truncate(target, NAME_SHOWN))))
    description = embed_text(truncate(summary, FIELD_VALUE_LIMIT))
    if note:
        description += f"\n{note}"
    return announcement(
        title=f"{action} · {outcome}",
        description=description,
        fields=fields,
        kind=kind,
    )


def pause_announcement(*, digest: str, channel_id: int, reason: str, server: str | None) -> dict[str, Any]:
    """A digest paused by the bot (channel gone, permissions lost): which, why, where, and what to do."""
    fields = [("Channel", f"<#{channel_id}>")]
    if server is not None:
        fields.append(("Server", server))
    text = (
        f"⏸️ Digest **{name_text(truncate(digest, NAME_SHOWN))}** is paused: "
        f"{name_text(truncate(reason, FIELD_VALUE_LIMIT))}. Fix it, then resume the digest."
    )
    return announcement(title="Digest paused", description=text, fields=fields, kind="warning")


def digest_warning(*, digest: str, channel_id: int, text: str, server: str | None) -> dict[str, Any]:
    """Something a digest's run did differently from its settings (posted without its role ping or a
    forum tag, could not publish): which digest, what and why. `text` is the bot's own wording."""
    fields = [("Channel", f"<#{channel_id}>")]
    if server is not None:
        fields.append(("Server", server))
    shown = name_text(truncate(digest, NAME_SHOWN))
    description = f"⚠️ Digest **{shown}** {truncate(text, FIELD_VALUE_LIMIT)}."
    return announcement(title="Digest notice", description=description, fields=fields, kind="warning")
