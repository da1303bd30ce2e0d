"""Validation and coercion of one article's front-matter mapping into an `Article`.

Only `title`, an http(s) URL and `publishedDateTime` are required: without them the file is rejected.
Every other field is optional and checked by type; a value that cannot be coerced is dropped and noted in
`Article.warnings` ("field: what was wrong"), so one odd field never costs the whole article.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from bot.corpus.model import Article, Image, Provider, Rejection, Related
from bot.corpus.textfix import repair_text

T = TypeVar("T")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "mc_cid", "mc_eid", "igshid", "ref_src", "ref_url", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "s_kwcid",
    }
)
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
_HOST_ALLOWED = re.compile(r"^(?:[^\s/\\@:?#\[\]]+|\[[0-9a-fA-F:.]+\])$")
# Already canonical: lower-case http(s) scheme and host, no port, userinfo, query or fragment. Most corpus
# URLs look like this, and returning them as they are skips urlsplit on the loader's hot path.
_PLAIN_CANONICAL_URL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^?#\x00-\x20\x7f]*")
# The same with a non-empty query: canonical as it is when the query has no tracking parameter or empty pair.
_PLAIN_URL_WITH_QUERY = re.compile(
    r"(https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*/[^?#\x00-\x20\x7f]*)\?([^#\x00-\x20\x7f]+)"
)
# Other URLs go through urlsplit; a story's related coverage repeats the same links across its articles, so
# recent results are remembered (bounded: at most _URL_CACHE_SIZE URLs of at most _CACHED_URL_CHARS each).
_URL_CACHE_SIZE = 1024
_CACHED_URL_CHARS = 1024
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
_HOSTNAME_LIMIT = 253
_FILENAME_ID = re.compile(r"^(?:.*_)?([0-9a-fA-F]{16})$")
_QUALITY_RANGE = (0, 100)


class _Invalid(ValueError):
    """A field value that cannot be coerced. Its text (for warnings, which stay with the operator) shows the
    value; `reason()` (for rejection reasons, shown publicly by /stats) names only the value's kind."""

    def __init__(self, expected: str, value: object) -> None:
        super().__init__(f"expected {expected}, got {_describe(value)}")
        self.expected = expected
        self.value = value

    def reason(self) -> str:
        return f"expected {self.expected}, got {_kind(self.value)}"


def _describe(value: object) -> str:
    """A short rendering of an offending value for warnings (never for rejection reasons)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: object) -> str:
    """What sort of value it is, without its content: `a list`, `a text`, `an int`."""
    name = type(value).__name__
    name = {"str": "text", "dict": "mapping", "NoneType": "null"}.get(name, name)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


# --- URLs and ids -------------------------------------------------------------------------------------


def _without_tracking(query: str) -> str:
    """Drop tracking parameters (utm_*, click ids, mailing ids) and keep the rest, in order, byte-exact."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key = pair.split("=", 1)[0].lower()
        if key.startswith("utm_") or key in _TRACKING_PARAMS:
            continue
        kept.append(pair)
    return "&".join(kept)


def canonical_url(value: object) -> str | None:
    """The canonical form of an http(s) URL, or None for anything else (other schemes, relative, non-text).

    Lower-case scheme and host, no default port, no credentials (`user:pass@` is never stored or
    republished), no fragment, no tracking parameters, "/" for an empty path; the rest of the path and
    query is kept as written, so equal canonical URLs mean the same page.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _PLAIN_CANONICAL_URL.fullmatch(text):
        return text
    with_query = _PLAIN_URL_WITH_QUERY.fullmatch(text)
    if with_query is not None and _without_tracking(with_query[2]) == with_query[2]:
        return text
    if len(text) <= _CACHED_URL_CHARS:
        return _cached_canonical_url(text)
    return _parsed_canonical_url(text)


def _parsed_canonical_url(text: str) -> str | None:
    """canonical_url's general path: split the URL and rebuild it from its normalised parts."""
    text = text.replace(" ", "%20")
    if _URL_FORBIDDEN.search(text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host or not _HOST_ALLOWED.match(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = _without_tracking(parts.query) if parts.query else ""
    return SplitResult(scheme, netloc, parts.path or "/", query, "").geturl()


_cached_canonical_url = functools.lru_cache(maxsize=_URL_CACHE_SIZE)(_parsed_canonical_url)


def is_hostname(text: str) -> bool:
    """Whether `text` is a DNS host name such as `news.example.co.uk` (two or more labels of letters,
    digits and inner hyphens, 253 characters at most; non-ASCII letters through IDNA). Nothing else —
    no path, port, credentials or spaces — may become a provider's home link."""
    try:
        ascii_name = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        return False
    labels = ascii_name.split(".")
    return len(ascii_name) <= _HOSTNAME_LIMIT and len(labels) >= 2 and all(map(_HOST_LABEL.fullmatch, labels))


def id_from_filename(name: str) -> str | None:
    """The 16-hex-digit id in a corpus file name such as `000_4f079d8d5eeb6983.txt`, lower-cased."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    match = _FILENAME_ID.match(stem)
    return match.group(1).lower() if match else None


def id_from_url(url: str) -> str:
    """A stable 16-hex-digit id derived from the canonical form of `url` (for files without an id name)."""
    key = canonical_url(url) or url
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


# --- scalar coercions (each raises _Invalid with the expectation and the value) -------------------------


def _text(value: object) -> str | None:
    """Repaired text; numbers become their decimal text; empty after repair means absent."""
    if isinstance(value, str):
        return repair_text(value) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Invalid("text", value)


def _integer(value: object, expected: str = "an integer") -> int:
    """An int from an int, an integral float or a decimal string; booleans are not numbers here."""
    if isinstance(value, bool):
        raise _Invalid(expected, value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _Invalid(expected, value)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _Invalid("true or false", value)


def _timestamp(value: object) -> datetime:
    """An aware UTC datetime: naive means UTC, a bare date means midnight UTC, ISO strings are parsed."""
    if isinstance(value, str) and value.strip():
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Invalid("an ISO 8601 timestamp", value) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise _Invalid("a timestamp", value)


def _positive_size(value: object) -> int:
    number = _integer(value, "a positive integer")
    if number <= 0:
        raise _Invalid("a positive integer", number)
    return number


# --- field readers that record warnings -----------------------------------------------------------------


class _Fields:
    """Reads optional fields from one mapping, collecting a warning for every value it has to drop."""

    def __init__(self, raw: Mapping, prefix: str, warnings: list[str]) -> None:
        self.raw = raw
        self.prefix = prefix
        self.warnings = warnings

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.prefix}{key}: {message}")

    def get(self, key: str, coerce: Callable[[object], T]) -> T | None:
        """The coerced value of `key`, or None when absent, null or not coercible (with a warning)."""
        value = self.raw.get(key)
        if value is None:
            return None
        try:
            return coerce(value)
        except _Invalid as problem:
            self.warn(key, str(problem))
            return None

    def quality(self, key: str = "quality") -> int | None:
        """A quality score 0–100: non-integers are dropped, out-of-range numbers clamped (both warned)."""
        low, high = _QUALITY_RANGE
        number = self.get(key, lambda value: _integer(value, f"an integer {low}–{high}"))
        if number is None or low <= number <= high:
            return number
        clamped = min(max(number, low), high)
        self.warn(key, f"{number} is outside {low}–{high}, clamped to {clamped}")
        return clamped

    def url(self, key: str) -> str | None:
        """The canonical URL of `key`; a value that is not an http(s) URL is dropped with a warning."""
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        url = canonical_url(value)
        if url is None:
            self.warn(key, f"expected an http(s) URL, got {_describe(value)}")
        return url

    def first_url(self, keys: tuple[str, ...]) -> str | None:
        """The first of `keys` holding a usable http(s) URL (unusable ones are warned about)."""
        for key in keys:
            url = self.url(key)
            if url is not None:
                return url
        return None

    def items(self, key: str) -> list[object]:
        """A list field: absent is empty, a single value is a one-item list, a mapping is not a list."""
        value = self.raw.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return [value]
        self.warn(key, f"expected a list, got {_describe(value)}")
        return []

    def provider(self, key: str = "provider") -> Provider | None:
        """A provider from {name, domain} (domain lower-cased; one that is not a host name is dropped with a
        warning), or from a bare name."""
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            name = repair_text(value)
            return Provider(name=name) if name else None
        if not isinstance(value, Mapping):
            self.warn(key, f"expected a mapping with name and domain, got {_describe(value)}")
            return None
        fields = _Fields(value, f"{self.prefix}{key}.", self.warnings)
        name = fields.get("name", _text)
        domain = fields.get("domain", _text)
        if domain is not None:
            domain = domain.lower().rstrip(".")
            if not is_hostname(domain):
                fields.warn("domain", f"expected a host name such as example.com, got {_describe(domain)}")
                domain = None
        return Provider(name=name, domain=domain) if name or domain else None


def _topics(fields: _Fields) -> tuple[str, ...]:
    """Repaired topic names, de-duplicated case-insensitively, first spelling and order kept."""
    topics: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(fields.items("topics")):
        try:
            topic = _text(item)
        except _Invalid as problem:
            fields.warn(f"topics[{index}]", str(problem))
            continue
        if topic is None:
            continue
        key = topic.casefold()
        if key not in seen:
            seen.add(key)
            topics.append(topic)
    return tuple(topics)


def _images(fields: _Fields) -> tuple[Image, ...]:
    """Images with an http(s) URL; a bare string item is taken as the URL."""
    images: list[Image] = []
    for index, item in enumerate(fields.items("images")):
        label = f"images[{index}]"
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, Mapping):
            fields.warn(label, f"expected a mapping with url, width and height, got {_describe(item)}")
            continue
        image_fields = _Fields(item, f"{fields.prefix}{label}.", fields.warnings)
        url = image_fields.url("url")
        if url is None:
            if item.get("url") is None:
                image_fields.warn("url", "missing")
            continue
        width = image_fields.get("width", _positive_size)
        height = image_fields.get("height", _positive_size)
        images.append(Image(url=url, width=width, height=height))
    return tuple(images)


def _related(fields: _Fields, article_url: str) -> tuple[Related, ...]:
    """Other coverage: titled entries with a usable URL other than the article's own, first of each URL kept,
    best quality first (unknown quality last, ties in file order)."""
    related: list[Related] = []
    seen = {article_url}
    for index, item in enumerate(fields.items("related")):
        label = f"related[{index}]"
        if not isinstance(item, Mapping):
            fields.warn(label, f"expected a mapping, got {_describe(item)}")
            continue
        entry = _Fields(item, f"{fields.prefix}{label}.", fields.warnings)
        title = entry.get("title", _text)
        if title is None:
            fields.warn(label, "dropped: no title")
            continue
        url = entry.first_url(("webUrl", "url", "originalUrl"))
        if url is None:
            fields.warn(label, "dropped: no http(s) URL (webUrl, url or originalUrl)")
            continue
        if url in seen:
            continue
        seen.add(url)
        related.append(
            Related(
                title=title,
                url=url,
                excerpt=entry.get("excerpt", _text),
                provider=entry.provider(),
                published_at=entry.get("publishedDateTime", _timestamp),
                quality=entry.quality(),
            )
        )
    related.sort(key=lambda item: (item.quality is None, -(item.quality or 0)))
    return tuple(related)


def _secured(fields: _Fields) -> str | None:
    """`secured` is an opaque blob: stored exactly as written, never repaired or rendered."""
    value = fields.raw.get("secured")
    if value is None or isinstance(value, str):
        return value
    kind = type(value).__name__
    fields.warn("secured", f"expected text, got a {kind} (not stored; its content is not shown)")
    return None


def normalize_article(name: str, raw: Mapping) -> Article | Rejection:
    """Validate and normalise one file's front matter; a missing required field rejects the file."""
    warnings: list[str] = []
    fields = _Fields(raw, "", warnings)

    title_value = raw.get("title")
    if title_value is None:
        return Rejection(file=name, reason="title: missing")
    try:
        title = _text(title_value)
    except _Invalid as problem:
        return Rejection(file=name, reason=f"title: {problem.reason()}")
    if title is None:
        return Rejection(file=name, reason="title: empty")

    url = fields.first_url(("webUrl", "originalUrl"))
    if url is None:
        present = [key for key in ("webUrl", "originalUrl") if raw.get(key) not in (None, "")]
        if not present:
            return Rejection(file=name, reason="webUrl: missing (and no originalUrl)")
        shown = ", ".join(f"{key} is {_kind(raw[key])}" for key in present)
        return Rejection(file=name, reason=f"webUrl: no http(s) URL in webUrl or originalUrl ({shown})")

    published_value = raw.get("publishedDateTime")
    if published_value is None:
        return Rejection(file=name, reason="publishedDateTime: missing")
    try:
        published_at = _timestamp(published_value)
    except _Invalid as problem:
        return Rejection(file=name, reason=f"publishedDateTime: {problem.reason()}")

    return Article(
        url=url,
        title=title,
        published_at=published_at,
        source_file=name,
        id_hint=id_from_filename(name) or id_from_url(url),
        excerpt=fields.get("excerpt", _text),
        original_url=fields.url("originalUrl"),
        amp_url=fields.url("ampWebUrl"),
        quality=fields.quality(),
        heat=fields.get("heat", _integer),
        published=fields.get("published", _boolean),
        category=fields.get("category", _text),
        provider=fields.provider(),
        topics=_topics(fields),
        images=_images(fields),
        related=_related(fields, url),
        secured=_secured(fields),
        warnings=tuple(warnings),
    )
