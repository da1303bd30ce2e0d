"""Stories, not duplicates: candidate articles covering the same story become one item.

Two articles cover the same story when one's canonical URL is in the other's related coverage or when they
share a related URL; the relation is transitive (A→B→C is one story), so grouping is a union-find over
the candidates. The best-ranked article leads and the others join its related coverage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.corpus.model import Article, Related
from bot.digest.model import Story


def rank_key(article: Article) -> tuple[float, float, float, str, str]:
    """Sort key, best first: quality desc, heat desc, recency desc, then id (and URL) for determinism.

    Missing quality or heat ranks below any value.
    """
    quality = article.quality if article.quality is not None else float("-inf")
    heat = article.heat if article.heat is not None else float("-inf")
    return (-quality, -heat, -article.published_at.timestamp(), article.id, article.url)


def group_stories(candidates: Sequence[Article]) -> list[Story]:
    """Group the candidates into stories, best lead first.

    Each story's related coverage merges its folded articles (as Related entries) with every member's own
    related list, de-duplicated by canonical URL and sorted best quality first. A URL appears at most once
    across the returned stories: never as its own lead's related, never again after an earlier story.
    """
    components = _same_story_components(candidates)
    stories = [_story_of(sorted(members, key=rank_key)) for members in components]
    stories.sort(key=lambda story: rank_key(story.lead))

    shown: set[str] = {story.lead.url for story in stories}
    unique: list[Story] = []
    for story in stories:
        related = tuple(item for item in story.related if item.url not in shown)
        shown.update(item.url for item in related)
        unique.append(Story(lead=story.lead, related=related, folded=story.folded))
    return unique


def as_related(article: Article) -> Related:
    """A corpus article shown as another outlet's coverage of a story it was folded into."""
    return Related(
        title=article.title,
        url=article.url,
        excerpt=article.excerpt,
        provider=article.provider,
        published_at=article.published_at,
        quality=article.quality,
    )


def _same_story_components(candidates: Sequence[Article]) -> list[list[Article]]:
    """Connected components of "same story" among the candidates, in first-appearance order."""
    parent = list(range(len(candidates)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    def union(first: int, second: int) -> None:
        root_first, root_second = find(first), find(second)
        if root_first != root_second:
            parent[max(root_first, root_second)] = min(root_first, root_second)

    by_url = {article.url: index for index, article in enumerate(candidates)}
    first_lister: dict[str, int] = {}
    for index, article in enumerate(candidates):
        for item in article.related:
            if item.url in by_url:
                union(index, by_url[item.url])
            if item.url in first_lister:
                union(index, first_lister[item.url])
            else:
                first_lister[item.url] = index

    groups: dict[int, list[Article]] = {}
    for index, article in enumerate(candidates):
        groups.setdefault(find(index), []).append(article)
    return list(groups.values())


def _story_of(members: Sequence[Article]) -> Story:
    """One story from its members, best first: the first leads."""
    lead, folded = members[0], tuple(members[1:])
    coverage: list[Related] = [as_related(article) for article in folded]
    coverage.extend(lead.related)
    for article in folded:
        coverage.extend(article.related)
    return Story(lead=lead, related=_best_first(_unique_by_url(coverage, exclude=lead.url)), folded=folded)


def _unique_by_url(items: Iterable[Related], *, exclude: str) -> list[Related]:
    """First entry per canonical URL (folded articles' own data come first, so they win)."""
    seen = {exclude}
    unique: list[Related] = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            unique.append(item)
    return unique


def _best_first(items: Iterable[Related]) -> tuple[Related, ...]:
    """Best quality first; unrated last; then the most recent, then URL so the order is deterministic."""

    def key(item: Related) -> tuple[float, float, str]:
        quality = item.quality if item.quality is not None else float("-inf")
        published = item.published_at.timestamp() if item.published_at is not None else float("-inf")
        return (-quality, -published, item.url)

    return tuple(sorted(items, key=key))
