"""Plain data shared by every layer: what an article is once parsed and normalised, and what a load reports.

Frozen dataclasses only; no I/O, no Discord. Timestamps are aware UTC datetimes. URLs are canonical
http(s) URLs (see `normalize.canonical_url`); anything else never reaches these types as a link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Provider:
    """The outlet that published a piece: a display name and/or a domain."""

    name: str | None
    domain: str | None = None

    @property
    def label(self) -> str | None:
        """What to show people: the name, else the domain."""
        return self.name or self.domain


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Related:
    """Another outlet's coverage of the same story."""

    title: str
    url: str
    excerpt: str | None = None
    provider: Provider | None = None
    published_at: datetime | None = None
    quality: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One normalised article. `url` (canonical) is its identity; `id` is what users type.

    `id` is empty until the store assigns it (the parser only proposes `id_hint`).
    `secured` is kept verbatim for storage and must never be rendered.
    """

    url: str
    title: str
    published_at: datetime
    source_file: str
    id_hint: str
    id: str = ""
    excerpt: str | None = None
    original_url: str | None = None
    amp_url: str | None = None
    quality: int | None = None
    heat: int | None = None
    published: bool | None = None
    category: str | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[Related, ...] = ()
    secured: str | None = field(default=None, repr=False)
    first_load: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def image(self) -> str | None:
        """The first image URL, used as a thumbnail."""
        return self.images[0].url if self.images else None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A corpus file that could not be loaded, and why (file name, field or YAML line, what was wrong).

    `kept_previous` is true when an earlier good version of the file's article stays in service.
    """

    file: str
    reason: str
    kept_previous: bool = False


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A file whose canonical URL is the same article as another file's (`duplicate_of`, the winner)."""

    file: str
    duplicate_of: str


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What one corpus load did. `load` is the load's sequence number (None when nothing was applied)."""

    load: int | None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    articles: int = 0
    rejected: tuple[Rejection, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    warnings: tuple[str, ...] = field(default=())
