"""Text safety for everything the bot shows: escaping, mention neutralising, truncation, URLs, timestamps.

Corpus text is untrusted. Every corpus string that reaches a message goes through `clean` so it can neither
format itself (bold, spoilers, quotes, masked links) nor ping anyone, and every link goes through `safe_url`
so only http(s) ever becomes clickable. The limits are Discord's; `bot.render` is the only place that
enforces them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
URL_LIMIT = 2048

ZERO_WIDTH_SPACE = "\u200b"
TIMESTAMP_STYLES = frozenset("tTdDfFR")

# Characters that format anywhere in a line; the backslash first so escapes are not doubled.
_INLINE_SPECIALS = re.compile(r"([\\*_~|`\[\]()])")
# Markers that only format at the start of a line: quotes, headings, subtext/list dashes, ordered lists.
_LINE_START_MARKER = re.compile(r"^([ \t]*)(?:([>#-])|(\d+)\.)", re.MULTILINE)
_EVERYONE_HERE = re.compile(r"@(everyone|here)", re.IGNORECASE)
# <@123>, <@!123>, <@&123>, <#123>, </name sub:123>: what Discord turns into mentions.
_ANGLE_MENTION = re.compile(r"<(?=(?:@[!&]?\d+|#\d+|/[^<>:\n]+:\d+)>)")
_WORD_BREAK = re.compile(r"\s")
# The scheme of a bare http(s) URL, which Discord would turn into a link.
_BARE_LINK = re.compile(r"\b(https?):(?=//)", re.IGNORECASE)
#: How a complete sentence may end: its mark, then closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")
_DANGLING = " \t,;:–—-"

#: What marks a matched word in a search snippet (see `bot.store.search.search`). Control characters,
#: which the corpus loader strips from every text, so no title or excerpt can fake or break a highlight.
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"


def escape_markdown(text: str) -> str:
    """Backslash-escape every markdown marker so untrusted text shows literally."""
    escaped = _INLINE_SPECIALS.sub(r"\\\1", text)
    return _LINE_START_MARKER.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number = match.group(1), match.group(2), match.group(3)
    if marker is None:
        return f"{indent}{number}\\."
    return f"{indent}\\{marker}"


def neutralize_mentions(text: str) -> str:
    """Make @everyone/@here and user/role/channel/command mentions inert with a zero-width space."""
    text = _EVERYONE_HERE.sub(lambda m: f"@{ZERO_WIDTH_SPACE}{m.group(1)}", text)
    return _ANGLE_MENTION.sub(f"<{ZERO_WIDTH_SPACE}", text)


def code(text: str) -> str:
    """`text` as inline code: shown literally (markdown and mentions do nothing there), so it is not
    escaped; only a backtick, which would end the span, is replaced."""
    return "`" + " ".join(text.replace("`", "'").split()) + "`"


def clean(text: str | None) -> str:
    """The one function every corpus string passes through before it is shown: escaped and inert."""
    if not text:
        return ""
    return neutralize_mentions(escape_markdown(text))


def inert_links(text: str) -> str:
    """Keep bare http(s) URLs from becoming links (a zero-width space after the scheme's colon)."""
    return _BARE_LINK.sub(lambda match: f"{match.group(1)}:{ZERO_WIDTH_SPACE}", text)


def name_text(name: str | None) -> str:
    """A name from Discord or the corpus (a server, channel, thread or member): escaped, inert and never a
    link, so a server named like a masked link or a bare URL shows as the text it is."""
    return inert_links(clean(name))


def embed_text(text: str | None) -> str:
    """The bot's own sentence with typed values in it, for an embed's description or field: markdown
    escaped, no link, @everyone/@here defused; `<@id>`, `<#id>` and `<@&id>` stay and show as the member,
    channel or role (inside an embed they never ping, and every payload allows no mentions)."""
    if not text:
        return ""
    escaped = _EVERYONE_HERE.sub(lambda m: f"@{ZERO_WIDTH_SPACE}{m.group(1)}", escape_markdown(text))
    return inert_links(escaped)


def plain(text: str | None) -> str:
    """For places Discord shows without markdown (author names, footers): only mentions neutralised.

    Escaping there would show the backslashes; one line, whitespace collapsed.
    """
    if not text:
        return ""
    return neutralize_mentions(" ".join(text.split()))


def truncate(text: str, limit: int, *, ellipsis: str = "…") -> str:
    """Shorten `text` to at most `limit` characters (ellipsis included), cutting on a word boundary.

    Falls back to a hard cut when the last word boundary would throw away more than half the room, and
    never leaves a dangling backslash that would escape the ellipsis or split an escape like `\\*`.
    """
    if limit < 0:
        raise ValueError(f"truncate limit must be >= 0, got {limit}")
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    if room <= 0:
        return ellipsis[:limit]
    cut = text[:room]
    if not _WORD_BREAK.match(text, room):
        breaks = [m.start() for m in _WORD_BREAK.finditer(cut)]
        if breaks and breaks[-1] >= room // 2:
            cut = cut[: breaks[-1]]
    cut = cut.rstrip()
    trailing_backslashes = len(cut) - len(cut.rstrip("\\"))
    if trailing_backslashes % 2:
        cut = cut[:-1].rstrip()
    return cut + ellipsis


def finish_excerpt(text: str) -> str:
    """An excerpt that ends cleanly: one the source cut mid-sentence ("…since at least") gets "…".

    Text ending in a sentence mark (or a closing quote after one) is left alone; a dangling comma, colon
    or dash before the cut is dropped.
    """
    stripped = text.rstrip()
    if not stripped or _SENTENCE_END.search(stripped):
        return stripped
    return stripped.rstrip(_DANGLING) + "…"


def highlighted_pieces(snippet: str) -> list[tuple[str, bool]]:
    """A search snippet as (text, is_match) pieces in order, the markers removed; empty pieces left out."""
    pieces: list[tuple[str, bool]] = []
    for index, part in enumerate(snippet.split(HIGHLIGHT_START)):
        matched, _, rest = part.partition(HIGHLIGHT_END) if index else ("", "", part)
        pieces += [(text, bold) for text, bold in ((matched, True), (rest, False)) if text]
    return pieces


def safe_url(url: str | None) -> str | None:
    """The URL if it may become a link, thumbnail or image (http(s), a host, no whitespace), else None."""
    if not url or len(url) > URL_LIMIT:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def link_target(url: str) -> str:
    """A safe URL made fit for a masked link: characters that would end `(…)` early are percent-encoded."""
    return url.replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


_URL_IN_TEXT = re.compile(r"https?://[^\s<>]+", re.IGNORECASE)
#: A URL longer than this is shown as text: as a link it would crowd a field's 1024 characters.
LINKED_URL_LIMIT = 600


def _without_trailing_punctuation(url: str) -> str:
    """A URL found in prose without the sentence's punctuation after it; a closing bracket stays when it
    closes one the URL opened (`…/wiki/A_(b)`)."""
    while url:
        if url[-1] in ".,;:!?'\"" or (url[-1] == ")" and url.count(")") > url.count("(")):
            url = url[:-1]
        else:
            return url
    return url


def link_urls(text: str, *, label_limit: int = 80, text_limit: int = 300) -> str:
    """`text` made safe to show with each http(s) URL in it as a working link.

    `clean` would escape the URL's `_` and `*` and so break it; here the URL is the link's target
    (untouched but for `link_target`) and a short readable form of it the label, while the text around
    it is cleaned and cut to `text_limit`.
    """
    out: list[str] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(text):
        url = _without_trailing_punctuation(match.group(0))
        end = match.start() + len(url)
        out.append(clean(truncate(text[position : match.start()], text_limit)))
        label = clean(truncate(url.split("://", 1)[1], label_limit))
        safe = safe_url(url)
        out.append(f"[{label}]({link_target(safe)})" if safe and len(safe) <= LINKED_URL_LIMIT else label)
        position = end
    out.append(clean(truncate(text[position:], text_limit)))
    return "".join(out)


_MARKDOWN_TOKEN = re.compile(
    r"\\(?P<escaped>.)|\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<target>[^()\s]+)\)|\*\*|__|~~|\|\|",
    re.DOTALL,
)


def markdown_to_plain(text: str) -> str:
    """What the renderer wrote for Discord, as a terminal should show it: escapes undone, bold and other
    markers dropped, a masked link as `label <url>`."""

    def plain_token(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return match.group("escaped")
        if match.group("target") is not None:
            return f"{markdown_to_plain(match.group('label'))} <{match.group('target')}>"
        return ""

    return _MARKDOWN_TOKEN.sub(plain_token, text)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC ending in `Z`: the one timestamp format of our JSON output."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def discord_timestamp(moment: datetime, style: str = "D") -> str:
    """`<t:unix:style>`, which Discord shows in each reader's own timezone. Naive datetimes mean UTC."""
    if style not in TIMESTAMP_STYLES:
        styles = "".join(sorted(TIMESTAMP_STYLES))
        raise ValueError(f"unknown Discord timestamp style {style!r}; use one of {styles}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<t:{int(moment.timestamp())}:{style}>"
