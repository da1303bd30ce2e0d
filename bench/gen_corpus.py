"""Synthetic article corpus in the seeds' format, for the ingest and search benchmarks.

Usage: ``python bench/gen_corpus.py OUT N [SEED] [--shape NAME]`` writes N article files into OUT.

The corpus imitates what makes real data expensive or awkward: a Zipf-distributed vocabulary (a few
function words everywhere, a long tail of rare words), a handful of topical words whose frequencies are
known (so benchmarks can pick a query matching a quarter of the corpus), story clusters whose articles
share related coverage, skewed quality/heat/provider spreads, base64 ``secured`` blobs and a little
realistic mess (mojibake, curly quotes, missing optional fields). The vocabulary and the query constants
are fixed; SEED only changes which articles are drawn, and the same SEED always writes the same bytes.

A shape (see `SHAPES`) varies what makes ingest cost differ between real corpora: text length, related
coverage per article, images, how messy the URLs are (tracking parameters, upper-case hosts, default ports,
fragments, credentials, relative links) and the share of non-ASCII words. The `default` shape writes the
same bytes as before shapes existed, so published benchmark figures stay comparable.

Files are written cluster by cluster (at most a handful of articles in memory at once).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import json
import random
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# --- vocabulary (fixed, independent of SEED) ------------------------------------------------------

_VOCABULARY_SEED = 20240229
_FUNCTION_WORDS = (
    "the", "of", "to", "in", "and", "for", "on", "with", "after", "over", "new", "says", "by", "at",
    "from", "as", "is", "its", "how", "why", "more", "than", "about", "into", "amid", "could", "will",
    "first", "year", "city", "state", "report", "plan", "deal", "may", "us", "calls", "big",
)
_ONSETS = ("b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "br", "ch", "cl", "dr", "gr", "pl", "pr", "sh", "st", "th", "tr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "io", "ou")
_CODAS = ("", "", "", "n", "r", "s", "l", "t", "nd", "rk", "st")
_TAIL_SIZE = 20_000
_ZIPF_EXPONENT = 1.0

# Topical words with the share of articles whose title or excerpt carries them (drawn per article, so
# the observed share is close to the stated one at any corpus size). Several forms share a prefix.
_TOPICAL: tuple[tuple[tuple[str, ...], float], ...] = (
    (("police",), 0.25),
    (("market", "markets"), 0.12),
    (("election", "elections", "electoral", "elected"), 0.09),
    (("ai",), 0.08),
    (("climate",), 0.07),
    (("court",), 0.06),
    (("ukraine",), 0.05),
    (("covid",), 0.04),
    (("bitcoin",), 0.03),
    (("strike", "strikes"), 0.03),
)
_PHRASE_WORDS = ("facial", "recognition")
_PHRASE_SHARE = 0.02

COMMON_WORD = "police"
"""A single term that appears in about a quarter of the articles (title or excerpt)."""
PHRASE = " ".join(_PHRASE_WORDS)
"""A two-word phrase that occurs verbatim in about 2% of titles."""
PREFIX = "elect"
"""A prefix shared by several word forms that together appear in about 9% of articles."""


def _pseudo_words(rng: random.Random, count: int, reserved: set[str]) -> list[str]:
    """Distinct pronounceable non-words (2–3 syllables), avoiding every reserved real word."""
    words: list[str] = []
    seen = set(reserved)
    while len(words) < count:
        syllables = rng.choice((2, 2, 3))
        word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
        word += rng.choice(_CODAS)
        if word not in seen and not word.startswith((PREFIX, COMMON_WORD)):
            seen.add(word)
            words.append(word)
    return words


def _build_vocabulary() -> tuple[list[str], list[float]]:
    """The Zipf-ranked vocabulary (function words first) and its cumulative weights."""
    reserved = set(_FUNCTION_WORDS) | set(_PHRASE_WORDS) | {PREFIX}
    for forms, _share in _TOPICAL:
        reserved.update(forms)
    ranked = list(dict.fromkeys(_FUNCTION_WORDS))
    ranked += _pseudo_words(random.Random(_VOCABULARY_SEED), _TAIL_SIZE, reserved)
    weights = itertools.accumulate(1.0 / (rank**_ZIPF_EXPONENT) for rank in range(1, len(ranked) + 1))
    return ranked, list(weights)


_VOCABULARY, _CUMULATIVE = _build_vocabulary()
_TOTAL_WEIGHT = _CUMULATIVE[-1]
_STORY_WORDS = _VOCABULARY[100:5000]
"""Mid-frequency words that mark a story: shared by a cluster's titles, distinctive across the corpus."""

RARE_WORDS: tuple[str, ...] = tuple(_VOCABULARY[rank] for rank in (4_000, 7_000, 10_000, 14_000, 18_000))
"""Tail words: each appears in roughly 0.1–0.5% of articles at 100,000 articles (fewer, or none, in small
corpora)."""

# --- providers, topics and other fixed pools ------------------------------------------------------

_PROVIDER_COUNT = 200
_OUTLET_NOUNS = ("Times", "Post", "News", "Daily", "Herald", "Tribune", "Journal", "Report", "Gazette",
                 "Observer", "Wire", "Chronicle", "Review", "Today", "Insider", "Record")
_TLDS = (".com", ".com", ".com", ".org", ".net", ".co.uk", ".in", ".io")
_TOPICS = (
    "AI", "Computer Vision", "Privacy", "Policing", "Civil Rights", "Elections", "US Politics",
    "Climate Change", "Energy", "Stock Market", "Cryptocurrency", "Banking", "Public Health", "COVID-19",
    "Ukraine War", "Supreme Court", "Labor", "Education", "Housing", "Transportation", "Space",
    "Cybersecurity", "Social Media", "Semiconductors", "Retail", "Agriculture", "Immigration",
    "Sports Business", "Media", "Startups",
)
_SECTIONS = ("news", "business", "politics", "tech", "world", "local", "opinion", "science")
_CORPUS_START = datetime(2021, 1, 1, tzinfo=UTC)
_CORPUS_SPAN_MINUTES = 3 * 365 * 24 * 60


@dataclass(frozen=True, slots=True)
class Shape:
    """What one generated corpus looks like; every range is `random.randrange` style (upper bound excluded).

    `related_weights[k]` is the weight of an article wanting k related entries; `image_weights[k]` of one
    carrying k images. `messy_urls` is the share of written URLs put in an untidy but equivalent (or, in
    related coverage, unusable) form; `non_ascii` the share of title and excerpt words in other scripts.
    """

    name: str
    title_words: tuple[int, int] = (5, 11)
    excerpt_words: tuple[int, int] = (14, 36)
    related_weights: tuple[int, ...] = (10, 20, 22, 18, 14, 9, 7)
    externals: tuple[int, int] = (0, 6)
    image_weights: tuple[int, ...] = (12, 83, 5)
    amp_share: float = 0.3
    messy_urls: float = 0.0
    non_ascii: float = 0.0

    @property
    def max_related(self) -> int:
        return len(self.related_weights) - 1


SHAPES: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        Shape("default"),
        # Short pieces, little related coverage: files about half the default size.
        Shape("small", title_words=(4, 8), excerpt_words=(5, 14), related_weights=(40, 35, 15, 10),
              externals=(0, 3), image_weights=(45, 55), amp_share=0.1),
        Shape("related-heavy", related_weights=(1, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3),
              externals=(4, 14)),
        Shape("non-ascii", non_ascii=0.35),
        Shape("url-messy", messy_urls=0.6),
    )
}
"""The named corpus shapes benchmarks pick from (`default` first)."""

_NON_ASCII_WORDS = (
    "café", "zürich", "são", "paulo", "naïve", "größe", "español", "niño", "crème", "brûlée", "łódź",
    "kraków", "istanbul’da", "αθήνα", "εκλογές", "москва", "выборы", "київ", "東京", "選挙", "北京",
    "市场", "서울", "경제", "दिल्ली", "चुनाव", "القاهرة", "انتخابات", "ירושלים", "ประเทศไทย", "hà", "nội",
)
_TRACKING_TAILS = (
    "utm_source=twitter&utm_medium=social", "utm_campaign=morning-brief", "fbclid=IwAR0x3Zq9",
    "gclid=Cj0KCQiA", "mc_cid=5f1c2&mc_eid=a9b8", "ref_src=twsrc%5Etfw",
)
_FRAGMENTS = ("#comments", "#main", "#:~:text=the", "#")


def _messy_url(rng: random.Random, url: str) -> str:
    """The same page written untidily: upper-case scheme or host, default port, tracking parameters, a
    fragment, a trailing dot or credentials. Canonicalising gives back `url`'s canonical form."""
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    roll = rng.random()
    if roll < 0.25:
        scheme, host = scheme.upper(), host.upper()
    elif roll < 0.45:
        host = ".".join(label.capitalize() for label in host.split("."))
    if rng.random() < 0.15:
        host += ":443" if scheme.lower() == "https" else ":80"
    elif rng.random() < 0.05:
        host += "."
    if rng.random() < 0.03:
        host = "reader:s3cret@" + host
    tail = f"{scheme}://{host}{slash}{path}"
    if rng.random() < 0.6:
        tail += ("&" if "?" in tail else "?") + rng.choice(_TRACKING_TAILS)
    if rng.random() < 0.3:
        tail += rng.choice(_FRAGMENTS)
    return tail


def _unusable_url(rng: random.Random, url: str) -> str:
    """A link real feeds carry that is no http(s) URL: relative, protocol-relative or another scheme."""
    host, _, path = url.partition("://")[2].partition("/")
    return rng.choice((f"/{path}", f"//{host}/{path}", f"{path}", f"android-app://{host}/{path}"))


@dataclass(frozen=True, slots=True)
class _Outlet:
    name: str
    domain: str


def _build_outlets() -> tuple[list[_Outlet], list[float]]:
    """~200 outlets with distinct domains and a Zipf popularity (a few outlets publish most pieces)."""
    rng = random.Random(_VOCABULARY_SEED + 1)
    outlets: list[_Outlet] = []
    domains: set[str] = set()
    while len(outlets) < _PROVIDER_COUNT:
        stem = rng.choice(_VOCABULARY[200:3000])
        noun = rng.choice(_OUTLET_NOUNS)
        domain = f"{stem}{noun.lower()}{rng.choice(_TLDS)}"
        if domain in domains:
            continue
        domains.add(domain)
        name = domain if rng.random() < 0.15 else f"The {stem.capitalize()} {noun}"
        outlets.append(_Outlet(name=name, domain=domain))
    weights = itertools.accumulate(1.0 / rank**0.8 for rank in range(1, len(outlets) + 1))
    return outlets, list(weights)


_OUTLETS, _OUTLET_CUMULATIVE = _build_outlets()

# --- drawing --------------------------------------------------------------------------------------


def _words(rng: random.Random, count: int) -> list[str]:
    """`count` words drawn from the Zipf vocabulary."""
    random_ = rng.random
    return [
        _VOCABULARY[bisect.bisect(_CUMULATIVE, random_() * _TOTAL_WEIGHT)] for _ in range(count)
    ]


def _outlet(rng: random.Random) -> _Outlet:
    return _OUTLETS[bisect.bisect(_OUTLET_CUMULATIVE, rng.random() * _OUTLET_CUMULATIVE[-1])]


def _quality(rng: random.Random) -> int:
    """Skewed low: most pieces score 10–50, few above 80."""
    return min(100, int(rng.betavariate(1.6, 3.2) * 101))


def _heat(rng: random.Random) -> int:
    return -1 if rng.random() < 0.85 else 1 + int(rng.expovariate(1 / 120))


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:00Z")


def _slug(words: Sequence[str]) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "", w.lower()) for w in words if w.isascii())[:90].strip("-")


def _article_url(rng: random.Random, domain: str, when: datetime, words: Sequence[str], serial: int) -> str:
    """A unique URL in one of the shapes real outlets use (serial keeps it unique across the corpus)."""
    slug = _slug(words) or "story"
    shape = rng.randrange(4)
    if shape == 0:
        return f"https://{domain}/{when:%Y/%m/%d}/{slug}-{serial}/"
    if shape == 1:
        return f"https://www.{domain}/{rng.choice(_SECTIONS)}/article_{serial:08x}-{rng.getrandbits(48):012x}.html"
    if shape == 2:
        return f"https://www.{domain}/{rng.choice(_SECTIONS)}/{slug}-{serial}"
    return f"https://www.{domain}/{when:%Y%m}/{slug}?id={serial}"


def _amp_urls(url: str) -> tuple[str, str]:
    host, _, path = url.removeprefix("https://").partition("/")
    amp = f"https://{host}/amp/{path}"
    return amp, f"https://{host.replace('.', '-')}.cdn.ampproject.org/c/s/{host}/amp/{path}"


def _image(rng: random.Random, domain: str, serial: int) -> dict[str, object]:
    width = rng.choice((360, 400, 600, 720, 728, 1200, 2048, 2560))
    height = int(width * rng.choice((0.5, 0.5625, 0.6667, 0.75)))
    host = rng.choice(("www.", "cdn.", "i0.wp.com/")) + domain
    return {
        "url": f"https://{host}/media/{serial:x}-{rng.getrandbits(32):08x}.jpg",
        "width": width,
        "height": height,
    }


def _secured(rng: random.Random) -> str:
    """An opaque blob shaped like the seeds' (ciphertext;iv, both base64)."""
    body = base64.b64encode(rng.randbytes(16 * rng.randrange(18, 30))).decode("ascii")
    iv = base64.b64encode(rng.randbytes(16)).decode("ascii")
    return f"{body};{iv}"


def _sentence_case(words: list[str]) -> str:
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _title_case(words: list[str]) -> str:
    small = {"the", "of", "to", "in", "and", "for", "on", "with", "by", "at", "from", "as", "is"}
    return " ".join(w if (i and w in small) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def _add_mess(rng: random.Random, title: str) -> str:
    """~1% mojibake (UTF-8 read as cp1252), ~0.5% curly quotes; everything else stays ASCII."""
    roll = rng.random()
    if roll >= 0.015:
        return title
    words = title.split(" ")
    position = rng.randrange(len(words))
    if roll < 0.01:
        words[position] += "â€™s"
    elif rng.random() < 0.5:
        words[position] += "’s"
    else:
        words[position] = f"“{words[position]}”"
    return " ".join(words)


# --- articles and clusters ------------------------------------------------------------------------


@dataclass(slots=True)
class _Piece:
    """One article or one external outlet's coverage; enough to write either an article or a related entry."""

    title: str
    excerpt: str | None
    url: str
    when: datetime
    outlet: _Outlet
    quality: int
    amp: tuple[str, str] | None
    image: dict[str, object] | None


def _foreign(mess: random.Random, words: list[str], share: float) -> list[str]:
    """`words` with about `share` of them replaced by words in other scripts (accents, Greek, CJK, …)."""
    return [mess.choice(_NON_ASCII_WORDS) if mess.random() < share else word for word in words]


def _piece_text(rng: random.Random, mess: random.Random, shape: Shape, story_words: list[str],
                topical: list[str]) -> tuple[str, str]:
    """A title and an excerpt: Zipf words, the story's own words, and this piece's topical words."""
    title_words = _words(rng, rng.randrange(*shape.title_words))
    for word in story_words:
        title_words.insert(rng.randrange(len(title_words) + 1), word)
    excerpt_words = _words(rng, rng.randrange(*shape.excerpt_words))
    if shape.non_ascii:
        title_words = _foreign(mess, title_words, shape.non_ascii)
        excerpt_words = _foreign(mess, excerpt_words, shape.non_ascii)
    for word in topical:
        target = title_words if rng.random() < 0.6 else excerpt_words
        target.insert(rng.randrange(len(target) + 1), word)
    if rng.random() < _PHRASE_SHARE:
        position = rng.randrange(len(title_words) + 1)
        title_words[position:position] = list(_PHRASE_WORDS)
    if rng.random() < 0.1:
        excerpt_words.insert(rng.randrange(len(excerpt_words) + 1), str(rng.randrange(2, 2000)))
    title = _title_case(title_words) if rng.random() < 0.5 else _sentence_case(title_words)
    excerpt = _sentence_case(excerpt_words) + rng.choice((".", ".", ","))
    return _add_mess(rng, title), excerpt


def _topical_words(rng: random.Random) -> list[str]:
    return [rng.choice(forms) for forms, share in _TOPICAL if rng.random() < share]


def _piece(rng: random.Random, mess: random.Random, shape: Shape, story_words: list[str],
           story_time: datetime, serial: int) -> _Piece:
    title, excerpt = _piece_text(rng, mess, shape, story_words, _topical_words(rng))
    when = story_time + timedelta(minutes=rng.randrange(-3 * 24 * 60, 3 * 24 * 60))
    outlet = _outlet(rng)
    url = _article_url(rng, outlet.domain, when, title.split(" ")[:8], serial)
    return _Piece(
        title=title,
        excerpt=excerpt,
        url=url,
        when=when,
        outlet=outlet,
        quality=_quality(rng),
        amp=_amp_urls(url) if rng.random() < shape.amp_share else None,
        image=_image(rng, outlet.domain, serial) if rng.random() < 0.5 else None,
    )


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


class _Urls:
    """How the URLs of one corpus are written: as drawn, or (for a `messy_urls` share) untidily."""

    def __init__(self, mess: random.Random, shape: Shape) -> None:
        self.mess = mess
        self.share = shape.messy_urls

    def __call__(self, url: str) -> str:
        if self.share and self.mess.random() < self.share:
            return _messy_url(self.mess, url)
        return url

    def related_lines(self, url: str) -> list[str]:
        """The webUrl line of a related entry; a few messy ones are unusable, half of them rescued by an
        absolute originalUrl (the other half gets the entry dropped, with a warning)."""
        if self.share and self.mess.random() < self.share * 0.05:
            lines = [f"    webUrl: {_q(_unusable_url(self.mess, url))}"]
            if self.mess.random() < 0.5:
                lines.append(f"    originalUrl: {_q(self(url))}")
            return lines
        return [f"    webUrl: {_q(self(url))}"]


def _related_block(piece: _Piece, urls: _Urls) -> list[str]:
    lines = [f"  - title: {_q(piece.title)}"]
    if piece.excerpt is not None:
        lines.append(f"    excerpt: {_q(piece.excerpt)}")
    lines.append(f"    publishedDateTime: {_timestamp(piece.when)}")
    lines += urls.related_lines(piece.url)
    if piece.amp:
        lines.append(f"    ampWebUrl: {_q(urls(piece.amp[0]))}")
        lines.append(f"    cdnAmpWebUrl: {_q(piece.amp[1])}")
    lines += [
        "    type: article",
        "    provider:",
        f"      name: {_q(piece.outlet.name)}",
        f"      domain: {piece.outlet.domain}",
        f"    quality: {piece.quality}",
    ]
    if piece.image:
        lines += [
            "    images:",
            f"      - url: {_q(urls(str(piece.image['url'])))}",
            f"        width: {piece.image['width']}",
            f"        height: {piece.image['height']}",
            "        isCached: true",
        ]
    return lines


def _render(rng: random.Random, urls: _Urls, shape: Shape, piece: _Piece, topics: Sequence[str],
            related: Sequence[_Piece]) -> str:
    """The whole file for one article, in the seeds' layout; a few optional fields go missing."""
    roll = rng.random
    heat = _heat(rng)
    lines = ["---", "category: news", f"title: {_q(piece.title)}"]
    if piece.excerpt is not None and roll() >= 0.005:
        lines.append(f"excerpt: {_q(piece.excerpt)}")
    lines.append(f"publishedDateTime: {_timestamp(piece.when)}")
    if roll() >= 0.01:
        tracking = ("&" if "?" in piece.url else "?") + "utm_source=feed"
        original = piece.url if rng.random() < 0.9 else piece.url + tracking
        lines.append(f"originalUrl: {_q(urls(original))}")
    lines.append(f"webUrl: {_q(urls(piece.url))}")
    if piece.amp:
        lines.append(f"ampWebUrl: {_q(urls(piece.amp[0]))}")
        lines.append(f"cdnAmpWebUrl: {_q(piece.amp[1])}")
    lines += ["type: article", f"quality: {piece.quality}"]
    if roll() >= 0.005:
        lines += [f"heat: {heat}", f"published: {'true' if heat > 0 else 'false'}"]
    if roll() >= 0.005:
        lines += ["", "provider:", f"  name: {_q(piece.outlet.name)}", f"  domain: {piece.outlet.domain}"]
    if topics and roll() >= 0.005:
        lines += ["", "topics:", *(f"  - {topic}" for topic in topics)]
    weights = shape.image_weights
    image_count = rng.choices(range(len(weights)), weights=weights)[0]
    if image_count:
        lines += ["", "images:"]
        for index in range(image_count):
            image = piece.image if index == 0 and piece.image else _image(rng, piece.outlet.domain, index)
            lines += [
                f"  - url: {_q(urls(str(image['url'])))}",
                f"    width: {image['width']}",
                f"    height: {image['height']}",
                f"    isCached: {'true' if rng.random() < 0.9 else 'false'}",
            ]
    if related:
        lines += ["", "related:"]
        for item in related:
            lines += _related_block(item, urls)
    if roll() >= 0.005:
        lines += ["", f"secured: {_q(_secured(rng))}"]
    lines += ["---", "", ""]
    return "\n".join(lines)


def _clusters(rng: random.Random, mess: random.Random, shape: Shape,
              count: int) -> Iterator[list[tuple[_Piece, list[str], list[_Piece]]]]:
    """Story clusters of 1–6 articles, each article with its topics and related coverage.

    Articles in a cluster share story words, topics and a pool of external coverage; each lists some of
    its siblings and some external pieces, and now and then itself (as real feeds sometimes do).
    """
    serial = 0
    remaining = count
    while remaining:
        size = min(remaining, rng.choices((1, 2, 3, 4, 5, 6), weights=(30, 25, 18, 12, 9, 6))[0])
        remaining -= size
        story_words = rng.sample(_STORY_WORDS, rng.randrange(1, 3))
        story_time = _CORPUS_START + timedelta(minutes=rng.randrange(_CORPUS_SPAN_MINUTES))
        topics = rng.sample(_TOPICS, rng.choice((1, 2, 2, 3)))
        members = []
        for _ in range(size):
            serial += 1
            members.append(_piece(rng, mess, shape, story_words, story_time, serial))
        externals = []
        for _ in range(rng.randrange(*shape.externals)):
            serial += 1
            externals.append(_piece(rng, mess, shape, story_words, story_time, serial))
        cluster = []
        for member in members:
            siblings = [other for other in members if other is not member]
            weights = shape.related_weights
            wanted = rng.choices(range(len(weights)), weights=weights)[0]
            picked = rng.sample(siblings, min(len(siblings), rng.randrange(0, wanted + 1)))
            picked += rng.sample(externals, min(len(externals), wanted - len(picked)))
            if picked and rng.random() < 0.015:
                picked[rng.randrange(len(picked))] = member
            rng.shuffle(picked)
            cluster.append((member, topics, picked))
        yield cluster


def generate(out: Path, count: int, seed: int = 1, shape: Shape | str = "default") -> None:
    """Write `count` article files of `shape` into `out` (created if missing); the same seed and shape
    write the same files."""
    if count < 0:
        raise ValueError(f"article count must be zero or more, got {count}")
    if isinstance(shape, str):
        shape = SHAPES[shape]
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    # The shape's extra draws come from their own stream, so the default shape writes the same bytes.
    mess = random.Random(f"{seed}:{shape.name}")
    urls = _Urls(mess, shape)
    index = 0
    for cluster in _clusters(rng, mess, shape, count):
        for piece, topics, related in cluster:
            name = f"{index:06d}_{rng.getrandbits(64):016x}.txt"
            (out / name).write_text(_render(rng, urls, shape, piece, topics, related), encoding="utf-8")
            index += 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic article corpus in the seeds' format.")
    parser.add_argument("out", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("count", type=int, help="how many article files")
    parser.add_argument("seed", type=int, nargs="?", default=1, help="draws which articles (1)")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="default", help="corpus shape (default)")
    args = parser.parse_args(argv)
    generate(args.out, args.count, args.seed, args.shape)
    print(f"wrote {args.count} {args.shape} articles to {args.out} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
