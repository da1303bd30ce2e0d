"""The synthetic benchmark corpus: seed-format files that parse, deterministic, with the promised shape."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COUNT = 200


def _load_generator() -> ModuleType:
    """Import bench/gen_corpus.py by path: bench/ is a scripts folder, not an installed package."""
    spec = importlib.util.spec_from_file_location("bench_gen_corpus", ROOT / "bench" / "gen_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen_corpus = _load_generator()


def _front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    opening, body, rest = text.split("---\n", 2)
    assert opening == "", f"{path.name}: file must start with ---"
    assert rest.strip() == "", f"{path.name}: nothing may follow the closing ---"
    document = yaml.load(body, Loader=yaml.CSafeLoader)
    assert isinstance(document, dict), f"{path.name}: front matter is not a mapping"
    return document


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "articles"
    gen_corpus.generate(out, COUNT, seed=7)
    return out


@pytest.fixture(scope="module")
def documents(corpus: Path) -> dict[str, dict]:
    return {path.name: _front_matter(path) for path in sorted(corpus.iterdir())}


def test_writes_the_requested_number_of_files_named_like_the_seeds(corpus: Path) -> None:
    names = sorted(path.name for path in corpus.iterdir())
    assert len(names) == COUNT
    assert all(re.fullmatch(r"\d{6}_[0-9a-f]{16}\.txt", name) for name in names)
    assert [int(name[:6]) for name in names] == list(range(COUNT))


def test_every_file_has_the_required_fields(documents: dict[str, dict]) -> None:
    for name, document in documents.items():
        assert isinstance(document["title"], str) and document["title"].strip(), name
        assert re.match(r"https?://", document["webUrl"]), name
        assert document["publishedDateTime"].tzinfo is not None, name
        assert 0 <= document["quality"] <= 100, name
        for item in document.get("related", []):
            assert item["title"] and re.match(r"https?://", item["webUrl"]), name


def test_web_urls_are_unique(documents: dict[str, dict]) -> None:
    urls = [document["webUrl"] for document in documents.values()]
    assert len(set(urls)) == len(urls)


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path: Path, corpus: Path) -> None:
    gen_corpus.generate(tmp_path / "again", COUNT, seed=7)
    gen_corpus.generate(tmp_path / "other", COUNT, seed=8)
    original = {path.name: path.read_bytes() for path in corpus.iterdir()}
    again = {path.name: path.read_bytes() for path in (tmp_path / "again").iterdir()}
    other = {path.name: path.read_bytes() for path in (tmp_path / "other").iterdir()}
    assert again == original
    assert other != original


def test_common_word_matches_about_a_quarter_of_articles(documents: dict[str, dict]) -> None:
    pattern = re.compile(rf"\b{re.escape(gen_corpus.COMMON_WORD)}\b", re.IGNORECASE)
    hits = sum(
        1 for document in documents.values()
        if pattern.search(f"{document['title']} {document.get('excerpt', '')}")
    )
    assert 0.15 <= hits / COUNT <= 0.40


def test_query_constants_are_usable_search_terms() -> None:
    assert re.fullmatch(r"[a-z]+ [a-z]+", gen_corpus.PHRASE)
    assert re.fullmatch(r"[a-z]+", gen_corpus.PREFIX)
    assert len(gen_corpus.RARE_WORDS) == len(set(gen_corpus.RARE_WORDS)) >= 3
    assert gen_corpus.COMMON_WORD not in gen_corpus.RARE_WORDS


def test_phrase_and_rare_words_appear_but_stay_rare(tmp_path: Path) -> None:
    gen_corpus.generate(tmp_path, 2000, seed=3)
    texts = []
    for path in tmp_path.iterdir():
        document = _front_matter(path)
        texts.append(f"{document['title']} {document.get('excerpt', '')}".lower())
    phrase_hits = sum(gen_corpus.PHRASE in text for text in texts)
    rare_hits = sum(bool(re.search(rf"\b{word}\b", text)) for text in texts for word in gen_corpus.RARE_WORDS)
    assert 0 < phrase_hits < 0.05 * len(texts)
    assert 0 < rare_hits < 0.02 * len(texts)


def test_story_clusters_share_related_coverage(documents: dict[str, dict]) -> None:
    article_urls = {document["webUrl"] for document in documents.values()}
    related_urls = Counter(
        item["webUrl"] for document in documents.values() for item in document.get("related", [])
    )
    assert any(url in article_urls for url in related_urls), "no article lists a sibling"
    assert any(count > 1 and url not in article_urls for url, count in related_urls.items()), (
        "no external coverage is shared by two articles"
    )
    assert all(len(document.get("related", [])) <= 6 for document in documents.values())


def test_most_titles_are_plain_ascii_and_most_files_carry_one_image(documents: dict[str, dict]) -> None:
    ascii_titles = sum(document["title"].isascii() for document in documents.values())
    single_image = sum(len(document.get("images", [])) == 1 for document in documents.values())
    assert ascii_titles >= 0.95 * COUNT
    assert single_image >= 0.6 * COUNT


def test_every_generated_file_parses_to_an_article(corpus: Path) -> None:
    parse = pytest.importorskip("bot.corpus.parse")
    from bot.corpus.model import Article

    for path in sorted(corpus.iterdir()):
        result = parse.parse_article(path.name, path.read_bytes())
        assert isinstance(result, Article), f"{path.name}: {result}"


def test_every_generated_file_normalises_to_an_article_without_warnings(documents: dict[str, dict]) -> None:
    from bot.corpus.model import Article
    from bot.corpus.normalize import normalize_article

    for name, document in documents.items():
        result = normalize_article(name, document)
        assert isinstance(result, Article), f"{name}: {result}"
        assert result.warnings == (), f"{name}: {result.warnings}"


@pytest.fixture(scope="module")
def shaped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    """Every shape's documents, COUNT files each, same seed."""
    documents = {}
    for shape in gen_corpus.SHAPES:
        out = tmp_path_factory.mktemp(shape)
        gen_corpus.generate(out, COUNT, seed=7, shape=shape)
        documents[shape] = {path.name: _front_matter(path) for path in sorted(out.iterdir())}
    return documents


def test_the_default_shape_is_the_plain_generator(corpus: Path, tmp_path: Path) -> None:
    gen_corpus.generate(tmp_path, COUNT, seed=7, shape="default")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == {
        path.name: path.read_bytes() for path in corpus.iterdir()
    }


def test_shapes_differ_where_they_say(shaped: dict[str, dict[str, dict]]) -> None:
    def mean(shape: str, measure) -> float:
        return sum(measure(document) for document in shaped[shape].values()) / COUNT

    def related(document: dict) -> int:
        return len(document.get("related", []))

    def text_length(document: dict) -> int:
        return len(document["title"]) + len(document.get("excerpt", ""))

    def non_ascii(document: dict) -> bool:
        return not document["title"].isascii()

    assert mean("small", text_length) < 0.6 * mean("default", text_length)
    assert mean("small", related) < mean("default", related) < mean("related-heavy", related)
    assert mean("non-ascii", non_ascii) > 0.5 > mean("default", non_ascii)
    assert all(len(document.get("related", [])) <= 12 for document in shaped["related-heavy"].values())


def test_messy_urls_name_the_same_pages(shaped: dict[str, dict[str, dict]]) -> None:
    from bot.corpus.normalize import canonical_url

    messy = [document["webUrl"] for document in shaped["url-messy"].values()]
    tidy = [document["webUrl"] for document in shaped["default"].values()]
    assert sum(a != b for a, b in zip(messy, tidy, strict=True)) > 0.3 * COUNT
    assert [canonical_url(url) for url in messy] == [canonical_url(url) for url in tidy]


@pytest.mark.parametrize("shape", list(gen_corpus.SHAPES))
def test_every_shape_parses_to_articles(shape: str, tmp_path: Path) -> None:
    from bot.corpus.model import Article
    from bot.corpus.parse import parse_article

    gen_corpus.generate(tmp_path, 50, seed=5, shape=shape)
    for path in sorted(tmp_path.iterdir()):
        assert isinstance(parse_article(path.name, path.read_bytes()), Article), path.name
