"""A digest run's payloads drawn as Discord draws them, in one self-contained HTML page.

`digestbot preview --html FILE` writes it so an admin sees the next digest before enabling it. It reads
the very payloads delivery would post and renders the part of Discord's markdown the bot writes: escapes,
bold, masked links, timestamps (shown in the digest's time zone, relative ones against `now`), plus embeds
(colour bar, author, linked title, description, fields, footer, image placeholders) and buttons. The page
loads nothing: no script, no stylesheet, no remote image (pictures are drawn as labelled boxes), so opening
it reaches no network.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.render.text import safe_url

_TOKEN = re.compile(
    r"\\(?P<escaped>.)"
    r"|(?P<bold>\*\*)"
    r"|\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<target>[^()\s]+)\)"
    r"|<t:(?P<unix>-?\d+)(?::(?P<style>[tTdDfFR]))?>",
    re.DOTALL,
)
_BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}


@dataclass(frozen=True, slots=True)
class PreviewMessage:
    """One message to draw: its payload and whether it goes into the thread under the header."""

    payload: Mapping[str, Any]
    in_thread: bool = False


def _timestamp(unix: int, style: str, tz: ZoneInfo, now: datetime) -> str:
    moment = datetime.fromtimestamp(unix, UTC).astimezone(tz)
    if style == "R":
        return _relative(moment, now)
    formats = {
        "t": "%H:%M", "T": "%H:%M:%S", "d": "%d/%m/%Y", "D": "%-d %B %Y",
        "f": "%-d %B %Y %H:%M", "F": "%A, %-d %B %Y %H:%M",
    }
    return moment.strftime(formats[style])


def _relative(moment: datetime, now: datetime) -> str:
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600),
                       ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {words}" if ahead else f"{words} ago"
    return "just now"


def markdown_html(text: str | None, tz: ZoneInfo, now: datetime) -> str:
    """The bot's Discord markdown as HTML: escapes shown literally, bold, masked links, timestamps."""
    if not text:
        return ""
    out: list[str] = []
    bold = False
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(html.escape(text[position : match.start()]))
        position = match.end()
        if match.group("escaped") is not None:
            out.append(html.escape(match.group("escaped")))
        elif match.group("bold"):
            out.append("</strong>" if bold else "<strong>")
            bold = not bold
        elif match.group("label") is not None:
            out.append(_linked(markdown_html(match.group("label"), tz, now), match.group("target")))
        else:
            stamp = _timestamp(int(match.group("unix")), match.group("style") or "f", tz, now)
            out.append(f'<span class="timestamp">{html.escape(stamp)}</span>')
    out.append(html.escape(text[position:]))
    if bold:
        out.append("</strong>")
    return "".join(out).replace("\n", "<br>")


def _picture(url: str | None, css: str) -> str:
    host = urlsplit(url or "").hostname or "image"
    return f'<div class="{css}" title="{html.escape(url or "")}">🖼 {html.escape(host)}</div>'


def _linked(inner: str, url: object) -> str:
    """`inner` (already HTML) as a link when `url` is a safe http(s) URL."""
    target = safe_url(url) if isinstance(url, str) else None
    return f'<a href="{html.escape(target)}">{inner}</a>' if target else inner


def _embed_html(embed: Mapping[str, Any], tz: ZoneInfo, now: datetime) -> str:
    color = embed.get("color")
    bar = f"#{int(color):06x}" if isinstance(color, int) else "#1e1f22"
    parts: list[str] = []
    author = embed.get("author") or {}
    if author.get("name"):
        parts.append(f'<div class="author">{_linked(html.escape(author["name"]), author.get("url"))}</div>')
    if embed.get("title"):
        title = markdown_html(embed["title"], tz, now)
        parts.append(f'<div class="title">{_linked(title, embed.get("url"))}</div>')
    if embed.get("description"):
        parts.append(f'<div class="description">{markdown_html(embed["description"], tz, now)}</div>')
    fields = embed.get("fields") or ()
    if fields:
        cells = "".join(
            f'<div class="field{" inline" if field.get("inline") else ""}">'
            f'<div class="field-name">{markdown_html(field.get("name"), tz, now)}</div>'
            f'<div class="field-value">{markdown_html(field.get("value"), tz, now)}</div></div>'
            for field in fields
        )
        parts.append(f'<div class="fields">{cells}</div>')
    if embed.get("image"):
        parts.append(_picture(embed["image"].get("url"), "image"))
    footer = (embed.get("footer") or {}).get("text")
    stamp = embed.get("timestamp")
    if footer or stamp:
        bits = [html.escape(footer)] if footer else []
        if stamp:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            bits.append(html.escape(_timestamp(int(moment.timestamp()), "f", tz, now)))
        parts.append(f'<div class="footer">{" • ".join(bits)}</div>')
    thumbnail = _picture(embed["thumbnail"].get("url"), "thumbnail") if embed.get("thumbnail") else ""
    return (f'<div class="embed" style="border-left-color:{bar}"><div class="embed-body">'
            f'{"".join(parts)}</div>{thumbnail}</div>')


def _buttons_html(rows: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for row in rows:
        buttons = "".join(
            f'<span class="button {_BUTTON_STYLES.get(item.get("style", 2), "secondary")}" '
            f'title="Opens the full coverage, only for the member who clicks">'
            f'{html.escape(item.get("label") or "")}</span>'
            for item in row.get("components") or ()
        )
        out.append(f'<div class="buttons">{buttons}</div>')
    return "".join(out)


def _message_html(message: PreviewMessage, tz: ZoneInfo, now: datetime) -> str:
    payload = message.payload
    content = markdown_html(payload.get("content"), tz, now)
    embeds = "".join(_embed_html(embed, tz, now) for embed in payload.get("embeds") or ())
    buttons = _buttons_html(payload.get("components") or ())
    return (
        '<div class="message"><div class="avatar">📰</div><div class="body">'
        '<div class="meta"><span class="name">digestbot</span><span class="bot-tag">APP</span></div>'
        f'<div class="content">{content}</div>{embeds}{buttons}</div></div>'
    )


def preview_page(
    digest: str,
    messages: Sequence[PreviewMessage],
    *,
    channel: str,
    thread_name: str | None,
    tz: ZoneInfo,
    now: datetime,
) -> str:
    """The whole page: the channel's messages, then (thread mode) the thread's."""
    channel_part = "".join(_message_html(m, tz, now) for m in messages if not m.in_thread)
    thread_part = "".join(_message_html(m, tz, now) for m in messages if m.in_thread)
    if not messages:
        channel_part = '<p class="empty">The next run would post nothing: no new articles match.</p>'
    thread = (f'<h2 class="thread"># {html.escape(thread_name or "thread")}</h2>{thread_part}'
              if thread_part else "")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Preview of digest {html.escape(digest)}</title><style>{_CSS}</style></head>"
        f'<body><h1># {html.escape(channel)}</h1><main>{channel_part}{thread}</main></body></html>\n'
    )


_CSS = """
body{margin:0;background:#313338;color:#dbdee1;font:16px/1.375 "gg sans","Noto Sans","Helvetica Neue",
Helvetica,Arial,sans-serif}
h1,h2{font-size:16px;color:#f2f3f5;margin:0;padding:12px 16px;border-bottom:1px solid #26282c}
h2.thread{margin-top:16px;border-top:1px solid #26282c}
main{padding:8px 0 24px}
a{color:#00a8fc;text-decoration:none}
.message{display:flex;gap:16px;padding:8px 16px}
.avatar{flex:none;width:40px;height:40px;border-radius:50%;background:#5865f2;display:flex;
align-items:center;justify-content:center;font-size:20px}
.body{min-width:0;flex:1}
.meta{margin-bottom:2px}.name{color:#f2f3f5;font-weight:600}
.bot-tag{margin-left:6px;background:#5865f2;color:#fff;font-size:10px;font-weight:600;padding:1px 4px;
border-radius:3px;vertical-align:2px}
.content{white-space:normal;overflow-wrap:anywhere}
.timestamp{background:#3f4147;border-radius:3px;padding:0 2px}
.embed{display:flex;max-width:520px;margin-top:8px;background:#2b2d31;border-left:4px solid;
border-radius:4px;padding:8px 16px 16px 12px;gap:16px}
.embed-body{min-width:0;flex:1;overflow-wrap:anywhere}
.author{font-size:14px;font-weight:600;color:#f2f3f5;margin-top:8px}.author a{color:#f2f3f5}
.title{font-weight:600;color:#f2f3f5;margin-top:8px}
.description{font-size:14px;margin-top:8px}
.fields{display:flex;flex-wrap:wrap;gap:8px 16px;margin-top:8px;font-size:14px}
.field{flex:1 1 100%}.field.inline{flex:1 1 28%}
.field-name{font-weight:600;color:#f2f3f5}
.footer{font-size:12px;color:#b5bac1;margin-top:8px}
.thumbnail,.image{background:#1e1f22;color:#949ba4;font-size:12px;border-radius:4px;display:flex;
align-items:center;justify-content:center;text-align:center;overflow:hidden}
.thumbnail{flex:none;width:80px;height:80px;margin-top:8px}.image{height:160px;margin-top:16px}
.buttons{display:flex;flex-wrap:wrap;gap:8px;margin-top:8px}
.button{display:inline-block;max-width:100%;padding:2px 16px;min-height:32px;line-height:28px;
border-radius:3px;font-size:14px;font-weight:500;color:#fff;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;box-sizing:border-box}
.button.secondary{background:#4e5058}.button.primary{background:#5865f2}
.button.success{background:#248046}.button.danger{background:#da373c}.button.link{background:#4e5058}
.empty{padding:16px;color:#b5bac1}
"""
