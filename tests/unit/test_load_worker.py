"""The workers' side of a load: the rows a worker hands back are the rows the writer would build from the
stored JSON, and `secured` travels hidden."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from bot.corpus.model import Article
from bot.corpus.parse import parse_article
from bot.store.load_worker import FileTask, article_content, article_row, content_json, read_files

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

ODD_FRONT_MATTERS = {
    "bare": 'title: "Bare"\nwebUrl: https://e.com/bare\npublishedDateTime: 2024-01-01\n',
    "provider by name, no secured": (
        'title: "Named"\nwebUrl: https://e.com/n\npublishedDateTime: 2024-01-01T00:00:00Z\n'
        "provider: Example News\ntopics: [AI, ai, Climate, AI]\npublished: false\nquality: 0\n"
    ),
    "related and images": (
        'title: "Full"\nwebUrl: "HTTPS://E.com:443/full?utm_source=x#top"\npublishedDateTime: 2024-01-01\n'
        "provider: {name: Ex, domain: e.com}\nimages: [https://e.com/a.jpg, {url: https://e.com/b.jpg, "
        "width: 10, height: 20}]\nrelated:\n"
        "  - {title: 'Café “one”', webUrl: 'https://f.com/1', quality: 7}\n"
        "  - {title: Two, url: 'https://g.com/2', excerpt: Ünïcode, provider: {name: G}}\n"
        "secured: 'abc=='\n"
    ),
}


def _articles() -> list[Article]:
    articles = []
    for path in sorted(SEEDS.glob("*.txt"))[:20]:
        parsed = parse_article(path.name, path.read_bytes())
        assert isinstance(parsed, Article), parsed
        articles.append(parsed)
    for name, front_matter in ODD_FRONT_MATTERS.items():
        parsed = parse_article(name, f"---\n{front_matter}---\n".encode())
        assert isinstance(parsed, Article), parsed
        articles.append(parsed)
    return articles


@pytest.mark.parametrize("article", _articles(), ids=lambda article: article.source_file)
def test_rows_from_a_worker_equal_rows_from_the_stored_json(article: Article) -> None:
    content = article_content(article)
    fresh = article_row(content)
    stored = article_row(json.loads(content_json(content)))
    assert fresh == stored
    assert [type(value) for value in fresh.columns] == [type(value) for value in stored.columns]
    assert len(fresh.related) == len(article.related)
    assert len({topic.casefold() for _, topic in fresh.topics}) == len(fresh.topics)


def test_secured_travels_as_a_value_that_never_shows_itself(tmp_path: Path) -> None:
    path = tmp_path / "000_00000000000000aa.txt"
    path.write_text(
        '---\ntitle: "T"\nwebUrl: https://e.com/t\npublishedDateTime: 2024-01-01\n'
        'secured: "c2VjcmV0;aXY="\n---\n',
        encoding="utf-8",
    )
    [parsed] = pickle.loads(pickle.dumps(read_files([FileTask(path.name, str(path), None)], 1 << 20)))
    assert parsed.row is not None
    secured = parsed.row.columns[-1]
    assert secured == "c2VjcmV0;aXY="
    assert "c2VjcmV0" not in repr(secured) and "c2VjcmV0" not in repr(parsed.row)
