"""The worker side of a corpus load: read a chunk of files, hash them, parse the changed ones, and hand back
per file everything the writer stores — the article's JSON (kept in `files` for later loads) and its
`articles`, `related` and `article_topics` rows ready to insert, so the writing process decodes nothing on
a cold load and spends its time on SQLite alone.

Pure and picklable: runs in the loader's worker processes, or on a thread for small loads. Never raises for
a bad file: its outcome carries the rejection reason instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.corpus.model import Article, Rejection
from bot.corpus.parse import parse_article, read_article
from bot.logs import SecretValue

#: Index of the provider in `ArticleRow.columns`: its (name, domain) key, which the writer turns into an id.
PROVIDER_COLUMN = 10


class FileTask(NamedTuple):
    name: str
    path: str
    known_hash: str | None


class ArticleRow(NamedTuple):
    """An article's rows without its rowid: `columns` are the `articles` columns from title to secured (the
    provider as its (name, domain) key), `related` and `topics` the child rows after their article column."""

    columns: tuple[Any, ...]
    related: tuple[tuple[Any, ...], ...]
    topics: tuple[tuple[int, str], ...]


class ParsedFile(NamedTuple):
    """One file's outcome. `same_content` means its hash matched: only the stat changed."""

    name: str
    size: int
    mtime_ns: int
    hash: str
    same_content: bool
    reason: str | None = None
    url: str | None = None
    published_at: int | None = None
    id_hint: str | None = None
    fingerprint: str | None = None
    article: str | None = None
    warnings: tuple[str, ...] = ()
    row: ArticleRow | None = None


def _timestamp(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() // 1)


def article_content(article: Article) -> dict[str, Any]:
    """The stored form of an article's content (everything but its file, id and load bookkeeping)."""
    provider = article.provider
    return {
        "url": article.url,
        "title": article.title,
        "published_at": _timestamp(article.published_at),
        "excerpt": article.excerpt,
        "original_url": article.original_url,
        "amp_url": article.amp_url,
        "quality": article.quality,
        "heat": article.heat,
        "published": article.published,
        "category": article.category,
        "provider": None if provider is None else [provider.name or "", provider.domain or ""],
        "topics": list(article.topics),
        "images": [[image.url, image.width, image.height] for image in article.images],
        "related": [
            [
                item.title,
                item.url,
                item.excerpt,
                item.provider.name if item.provider else None,
                item.provider.domain if item.provider else None,
                _timestamp(item.published_at),
                item.quality,
            ]
            for item in article.related
        ],
        "secured": article.secured,
    }


def content_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def article_row(content: dict[str, Any]) -> ArticleRow:
    """The rows of stored content: the same whether `content` is fresh from a worker or decoded from JSON."""
    images = content["images"]
    published = content["published"]
    provider = content["provider"]
    secured = content["secured"]
    columns = (
        content["title"],
        content["excerpt"],
        "\n".join(item[0] for item in content["related"]) or None,
        content["original_url"],
        content["amp_url"],
        content["published_at"],
        content["quality"],
        content["heat"],
        None if published is None else int(published),
        content["category"],
        None if provider is None else (provider[0], provider[1]),
        images[0][0] if images else None,
        json.dumps(images, separators=(",", ":")),
        None if secured is None else SecretValue(secured),
    )
    related = tuple((position, *item) for position, item in enumerate(content["related"]))
    seen: set[str] = set()
    topics: list[tuple[int, str]] = []
    for topic in content["topics"]:
        if topic.casefold() not in seen:
            seen.add(topic.casefold())
            topics.append((len(topics), topic))
    return ArticleRow(columns, related, tuple(topics))


def _read_file(task: FileTask, max_bytes: int) -> ParsedFile:
    try:
        with open(task.path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if stat.st_size > max_bytes:
                outcome: Article | Rejection = read_article(Path(task.path), max_bytes=max_bytes)
                digest = f"oversize:{stat.st_size}:{stat.st_mtime_ns}"
            else:
                data = handle.read(max_bytes + 1)
                digest = hashlib.blake2b(data, digest_size=16).hexdigest()
                if digest == task.known_hash:
                    return ParsedFile(task.name, stat.st_size, stat.st_mtime_ns, digest, same_content=True)
                if len(data) > max_bytes:
                    outcome = read_article(Path(task.path), max_bytes=max_bytes)
                else:
                    outcome = parse_article(task.name, data)
    except OSError as error:
        return ParsedFile(task.name, -1, -1, "", False, f"file: cannot read ({error.strerror or error})")
    if isinstance(outcome, Rejection):
        return ParsedFile(task.name, stat.st_size, stat.st_mtime_ns, digest, False, reason=outcome.reason)
    content = article_content(outcome)
    text = content_json(content)
    return ParsedFile(
        task.name,
        stat.st_size,
        stat.st_mtime_ns,
        digest,
        False,
        url=outcome.url,
        published_at=_timestamp(outcome.published_at),
        id_hint=outcome.id_hint,
        fingerprint=hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest(),
        article=text,
        warnings=outcome.warnings,
        row=article_row(content),
    )


def read_files(tasks: list[FileTask], max_bytes: int) -> list[ParsedFile]:
    """Read (and, when the content changed, parse) a chunk of corpus files. Never raises for bad files."""
    return [_read_file(task, max_bytes) for task in tasks]
