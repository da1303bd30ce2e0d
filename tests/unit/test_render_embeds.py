"""Embeds for every command: layout, escaping, links and Discord's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.corpus.model import Article, Image, Provider, Rejection, Related
from bot.render.embeds import (
    BRAND_COLOR,
    article_embed,
    article_list,
    article_menu_options,
    counts_page,
    heat_words,
    highlight_snippet,
    notice,
    paginate,
    quality_words,
    rating_line,
    results_page,
    stats_embed,
)
from bot.render.message import embed_length, message, message_problems
from bot.render.text import HIGHLIGHT_END, HIGHLIGHT_START, ZERO_WIDTH_SPACE


def marked(text: str) -> str:
    """A snippet as the store returns it, written with `**` for readability."""
    parts = text.split("**")
    return "".join(
        part if index % 2 == 0 else f"{HIGHLIGHT_START}{part}{HIGHLIGHT_END}"
        for index, part in enumerate(parts)
    )

PUBLISHED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_related(number: int, *, quality: int | None = None, title: str | None = None) -> Related:
    return Related(
        title=title or f"Coverage number {number}",
        url=f"https://outlet{number}.example/story",
        provider=Provider(f"Outlet {number}", f"outlet{number}.example"),
        published_at=PUBLISHED,
        quality=quality,
    )


def make_article(**changes: object) -> Article:
    values: dict[str, object] = {
        "url": "https://news.example/story",
        "title": "A story",
        "published_at": PUBLISHED,
        "source_file": "story.txt",
        "id_hint": "4f079d8d5eeb6983",
        "id": "4f079d8d5eeb6983",
        "excerpt": "What happened, briefly.",
        "quality": 61,
        "heat": 12,
        "provider": Provider("News Outlet", "news.example"),
        "topics": ("AI", "Policy"),
        "images": (Image("https://news.example/pic.jpg"),),
    }
    values.update(changes)
    return Article(**values)  # type: ignore[arg-type]


def field(embed: dict, name: str) -> dict:
    return next(item for item in embed["fields"] if item["name"] == name)


def all_text(payload: dict) -> str:
    """Every string a reader could see in a payload."""
    parts = [payload.get("content") or ""]
    for embed in payload["embeds"]:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [(embed.get("footer") or {}).get("text", ""), (embed.get("author") or {}).get("name", "")]
        for item in embed.get("fields", ()):
            parts += [item["name"], item["value"]]
    return "\n".join(parts)


def test_article_embed_layout() -> None:
    rendered = article_embed(make_article(related=(make_related(1, quality=50),)))
    embed = rendered.embed
    assert embed["title"] == "A story"
    assert embed["url"] == "https://news.example/story"
    assert embed["color"] == BRAND_COLOR
    assert embed["author"] == {"name": "News Outlet", "url": "https://news.example"}
    assert embed["thumbnail"] == {"url": "https://news.example/pic.jpg"}
    assert embed["description"] == "What happened, briefly."
    assert embed["footer"] == {"text": "ID 4f079d8d5eeb6983 · /article"}
    assert embed["timestamp"] == "2024-03-01T12:00:00+00:00"
    assert field(embed, "Published")["value"] == f"<t:{int(PUBLISHED.timestamp())}:D>"
    assert field(embed, "Rating")["value"] == "Good quality"
    assert field(embed, "Topics")["value"] == "AI, Policy"
    assert field(embed, "Related coverage")["value"] == (
        f"[Coverage number 1](https://outlet1.example/story) — Outlet 1 · <t:{int(PUBLISHED.timestamp())}:d>"
    )
    assert rendered.shown_urls == ("https://news.example/story", "https://outlet1.example/story")
    assert message_problems(message([embed])) == []


def test_related_is_best_quality_first_without_the_article_itself_or_repeats() -> None:
    related = (
        make_related(1, quality=10),
        make_related(2, quality=None),
        make_related(3, quality=90),
        make_related(3, quality=90),
        Related(title="Itself", url="https://news.example/story", quality=99),
    )
    rendered = article_embed(make_article(related=related))
    value = field(rendered.embed, "Related coverage")["value"]
    order = [int(n) for n in re.findall(r"Coverage number (\d)", value)]
    assert order == [3, 1, 2]
    assert "Itself" not in value
    assert rendered.shown_urls.count("https://news.example/story") == 1


def test_related_argument_overrides_article_related() -> None:
    rendered = article_embed(make_article(related=(make_related(1),)), related=(make_related(2),))
    assert "outlet2.example" in field(rendered.embed, "Related coverage")["value"]
    assert "https://outlet1.example/story" not in rendered.shown_urls


def test_related_over_max_related_shows_plus_more_and_only_listed_urls() -> None:
    related = tuple(make_related(n, quality=n) for n in range(1, 8))
    rendered = article_embed(make_article(related=related), max_related=3)
    value = field(rendered.embed, "Related coverage")["value"]
    assert value.endswith("\n+4 more")
    assert rendered.shown_urls[1:] == tuple(f"https://outlet{n}.example/story" for n in (7, 6, 5))


def test_huge_article_stays_within_every_limit() -> None:
    related = tuple(
        make_related(n, quality=n % 100, title=f"Related piece {n} " + "word " * 40) for n in range(40)
    )
    article = make_article(excerpt="lorem ipsum " * 2500, title="T" * 300, related=related)
    rendered = article_embed(article)
    embed = rendered.embed
    assert len(article.excerpt or "") == 30_000
    assert message_problems(message([embed])) == []
    assert embed_length(embed) <= 6000
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert embed["description"].endswith("…")
    related_value = field(embed, "Related coverage")["value"]
    assert len(related_value) <= 1024
    hidden = int(re.search(r"\+(\d+) more$", related_value).group(1))  # type: ignore[union-attr]
    assert hidden + len(rendered.shown_urls) - 1 == 40


def test_hostile_text_is_escaped_and_cannot_ping() -> None:
    article = make_article(
        title="**Breaking** @everyone <@&123> [click](https://evil.example)",
        excerpt="@here ||spoiler|| <@1> <#1> > quote",
        topics=("__AI__",),
        provider=Provider("@everyone news", None),
        related=(Related(title="<@!5> ~~gone~~", url="https://r.example/"),),
    )
    payload = message([article_embed(article).embed])
    text = all_text(payload)
    for token in ("@everyone", "@here", "<@&123>", "<@1>", "<#1>", "<@!5>"):
        assert token not in text
    assert "**Breaking**" not in text
    assert "[click](" not in text
    assert "||spoiler||" not in text
    assert payload["allowed_mentions"] == {"parse": []}
    assert message_problems(payload) == []


def test_non_http_urls_never_become_links_or_images() -> None:
    article = make_article(
        url="javascript:alert(1)",
        images=(Image("data:image/png;base64,AAAA"),),
        provider=Provider("Outlet", "bad domain"),
        related=(Related(title="Sneaky", url="ftp://files.example/x"),),
    )
    rendered = article_embed(article)
    embed = rendered.embed
    assert "url" not in embed
    assert "thumbnail" not in embed
    assert "url" not in embed["author"]
    value = field(embed, "Related coverage")["value"]
    assert value == "Sneaky"
    assert rendered.shown_urls == ()


@pytest.mark.parametrize("domain", ["evil.example/@x", "user:pw@evil.example", "evil.example:1/x"])
def test_a_stored_provider_domain_that_is_not_a_host_name_never_becomes_the_author_link(domain: str) -> None:
    embed = article_embed(make_article(provider=Provider("Outlet", domain))).embed
    assert embed["author"] == {"name": "Outlet"}


def test_article_without_optional_parts() -> None:
    article = make_article(excerpt=None, quality=None, heat=None, topics=(), images=(), provider=None)
    embed = article_embed(article).embed
    assert "description" not in embed and "author" not in embed and "thumbnail" not in embed
    assert [item["name"] for item in embed["fields"]] == ["Published"]
    assert message_problems(message([embed])) == []


def test_url_parentheses_do_not_break_masked_links() -> None:
    related = (Related(title="Wiki", url="https://en.wikipedia.org/wiki/A_(b)", quality=1),)
    rendered = article_embed(make_article(related=related))
    assert "(https://en.wikipedia.org/wiki/A_%28b%29)" in field(rendered.embed, "Related coverage")["value"]
    assert "https://en.wikipedia.org/wiki/A_(b)" in rendered.shown_urls


def test_highlight_snippet_bolds_the_matches_and_escapes_the_rest() -> None:
    shown = highlight_snippet(marked("the **quick** brown_fox [x](y)."))
    assert shown == r"the **quick** brown\_fox \[x\]\(y\)."
    assert highlight_snippet(marked("**a*b** c.")) == r"**a\*b** c."


def test_neighbouring_matches_are_one_highlight() -> None:
    assert highlight_snippet(marked("**facial** **recognition** software **is** used.")) == (
        "**facial recognition** software **is** used."
    )


def test_stars_in_the_text_are_never_taken_for_highlights() -> None:
    """The store marks matches with control characters, so `**` in an excerpt stays literal text."""
    assert highlight_snippet(marked("a **match** in a **bold** claim.").replace("bold", "x")) == (
        r"a **match** in a **x** claim."
    )
    assert highlight_snippet("a **literal** claim.") == r"a \*\*literal\*\* claim."


def test_highlight_snippet_truncation_closes_the_highlight() -> None:
    result = highlight_snippet(marked("word " * 10 + "**" + "match " * 20 + "** tail"), 80)
    assert len(result) <= 80
    assert result.count("**") % 2 == 0
    assert result.endswith("…**")


@pytest.mark.parametrize(
    ("snippet", "shown"),
    [
        ("concerns for years from the Council,", "concerns for years from the Council…"),
        ("the tool has been used since at least", "the tool has been used since at least…"),
        ("It ended.", "It ended."),
        ('He said "no."', r'He said "no."'),
        ("…the middle of a longer text…", "…the middle of a longer text…"),
        ("ends on a **match**", "ends on a **match**…"),
    ],
)
def test_an_excerpt_cut_mid_sentence_ends_with_an_ellipsis(snippet: str, shown: str) -> None:
    assert highlight_snippet(marked(snippet)) == shown


def test_results_page_reads_like_a_search_engine() -> None:
    hits = [
        (make_article(id=f"id{n}", title=f"Result {n}"), marked(f"about **ai** number {n}."))
        for n in range(5)
    ]
    embed = results_page("Search: ai", hits, page=2, pages=3, summary="14 results", footer_hint="topic AI")
    assert embed["title"] == "Search: ai"
    assert embed["footer"]["text"] == "Page 2/3 · 14 results · topic AI"
    stamp = f"<t:{int(PUBLISHED.timestamp())}:d>"
    blocks = embed["description"].split("\n\n")
    assert blocks[0] == (
        f"**[Result 0](https://news.example/story)**\nNews Outlet · {stamp}\nabout **ai** number 0."
    )
    assert len(blocks) == 5
    for text in ("id0", "ID", "Quality", "Heat", "61", "12"):
        assert text not in embed["description"]
    assert message_problems(message([embed])) == []


def test_a_result_without_an_excerpt_never_repeats_its_title() -> None:
    embed = results_page("Search: x", [(make_article(title="Only a title"), "")], page=1, pages=1,
                         summary="1 result")
    assert embed["description"].count("Only a title") == 1
    assert embed["description"].splitlines()[-1].startswith("News Outlet · <t:")


def test_an_excerpt_that_only_repeats_the_title_is_not_shown() -> None:
    article = make_article(title="Council approves the budget", excerpt="Council approves the budget.")
    embed = results_page("Search: budget", [(article, marked("Council approves the **budget**."))],
                         page=1, pages=1, summary="1 result")
    assert embed["description"].count("Council approves") == 1


def test_results_page_with_huge_hits_stays_within_limits() -> None:
    long_url = "https://news.example/" + "a" * 2000
    hits = [(make_article(title="T" * 300, url=long_url), marked("**x** " + "y " * 2000)) for _ in range(5)]
    embed = results_page("q" * 400, hits, page=1, pages=1, summary="5 results", footer_hint="hint")
    assert message_problems(message([embed])) == []


def test_article_list_and_counts_page() -> None:
    articles = [make_article(id=f"id{n}", title=f"Item {n}") for n in range(10)]
    listing = article_list("Latest in **AI**", articles, description="Topic: @everyone", page=1, pages=2,
                           summary="10 articles")
    assert listing["title"] == r"Latest in \*\*AI\*\*"
    assert listing["description"].startswith(f"Topic: @{ZERO_WIDTH_SPACE}everyone\n\n")
    assert "id0" not in listing["description"] and "Good quality" not in listing["description"]
    assert listing["description"].count("**[Item ") == 10
    assert listing["footer"]["text"] == "Page 1/2 · 10 articles"
    ranked = article_list("Top articles", articles[:1], with_quality=True)
    assert ranked["description"].endswith(" · Good quality")
    counts = counts_page("Topics", [("AI", 120), ("__x__", 3)], page=1, pages=1)
    assert counts["description"] == "AI — **120**\n\\_\\_x\\_\\_ — **3**"
    assert "footer" not in counts
    for embed in (listing, counts):
        assert message_problems(message([embed])) == []


def test_long_lists_are_cut_with_more() -> None:
    rows = [(f"topic-{n} " + "x" * 150, n) for n in range(200)]
    embed = counts_page("Topics", rows, page=1, pages=1)
    assert re.search(r"\+\d+ more$", embed["description"])
    assert message_problems(message([embed])) == []


def test_stats_embed() -> None:
    rejected = [
        Rejection(file=f"bad{n}.txt", reason="missing title", kept_previous=n == 0) for n in range(25)
    ]
    embed = stats_embed(
        {
            "articles": 12345,
            "providers": 40,
            "topics": 12,
            "oldest": datetime(2020, 1, 1, tzinfo=UTC),
            "newest": PUBLISHED,
            "last_load_at": PUBLISHED,
            "last_load": 7,
            "rejected": rejected,
        }
    )
    assert field(embed, "Articles")["value"] == "12,345"
    assert "<t:1577836800:D>" in field(embed, "Date range")["value"]
    assert field(embed, "Last load")["value"].startswith("#7 · <t:")
    value = field(embed, "Rejected files (25)")["value"]
    assert "bad0.txt: missing title (previous version kept)" in value
    assert value.endswith("… and 15 more")
    assert message_problems(message([embed])) == []
    assert field(stats_embed({"articles": 0, "rejected": []}), "Rejected files")["value"] == "None"


def test_notice_kinds() -> None:
    assert notice("No results.")["color"] == BRAND_COLOR
    assert notice("Broken", kind="error")["color"] != notice("Careful", kind="warning")["color"]
    assert "@everyone" not in notice("hi @everyone")["description"]
    with pytest.raises(ValueError, match="kind"):
        notice("x", kind="loud")


def test_message_payload_shape() -> None:
    payload = message([notice("hello")], content="hi <@1>")
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["content"] == f"hi <{ZERO_WIDTH_SPACE}@1>"
    assert message([notice("x")])["content"] is None


def test_message_refuses_a_payload_over_the_limits() -> None:
    with pytest.raises(ValueError, match="11 embeds"):
        message([notice("x")] * 11)


def base_payload(**embed: object) -> dict:
    return {"content": None, "embeds": [{"title": "ok", **embed}], "allowed_mentions": {"parse": []}}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (base_payload(title="t" * 257), "title has 257"),
        (base_payload(description="d" * 4097), "description has 4097"),
        (base_payload(footer={"text": "f" * 2049}), "footer text"),
        (base_payload(author={"name": "a" * 257}), "author name"),
        (base_payload(fields=[{"name": "n", "value": "v"}] * 26), "26 fields"),
        (base_payload(fields=[{"name": "n" * 257, "value": "v"}]), "name has 257"),
        (base_payload(fields=[{"name": "n", "value": "v" * 1025}]), "value has 1025"),
        (base_payload(fields=[{"name": "n", "value": ""}]), "empty name or value"),
        (base_payload(footer={"text": ""}), "footer without text"),
        (base_payload(thumbnail={"url": "javascript:x"}), "thumbnail url"),
        (base_payload(url="ftp://x.example"), "url is not a safe"),
        ({"content": "c" * 2001, "embeds": [], "allowed_mentions": {"parse": []}}, "content has 2001"),
        ({"content": "x", "embeds": [{"title": "t"}] * 11, "allowed_mentions": {"parse": []}}, "11 embeds"),
        ({"content": "x", "embeds": [], "allowed_mentions": {"parse": ["everyone"]}}, "allowed_mentions"),
        ({"content": "x", "embeds": []}, "allowed_mentions"),
        ({"content": None, "embeds": [], "allowed_mentions": {"parse": []}}, "neither content nor embeds"),
    ],
)
def test_message_problems_catches_each_violation(payload: dict, fragment: str) -> None:
    problems = message_problems(payload)
    assert any(fragment in problem for problem in problems), problems


def test_message_problems_counts_the_total_across_embeds() -> None:
    embeds = [{"title": "t" * 200, "description": "d" * 2800}, {"description": "d" * 3001}]
    problems = message_problems({"content": None, "embeds": embeds, "allowed_mentions": {"parse": []}})
    assert problems == ["embeds total 6001 characters (limit 6000)"]
    embeds[1]["description"] = "d" * 3000
    assert message_problems({"content": None, "embeds": embeds, "allowed_mentions": {"parse": []}}) == []


def test_paginate() -> None:
    assert paginate(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert paginate([], 5) == []
    with pytest.raises(ValueError, match="page_size"):
        paginate([1], 0)


def test_a_results_page_with_a_long_footer_hint_stays_within_the_total() -> None:
    hits = [(make_article(title="word " * 60, excerpt="x"), marked("**word** " * 200)) for _ in range(5)]
    embed = results_page("T" * 300, hits, page=2, pages=9, summary="45 results",
                         footer_hint="topic: " + "y " * 1500)
    assert message_problems(message([embed])) == []
    assert embed["footer"]["text"].startswith("Page 2/9")


def test_quality_and_heat_read_as_words() -> None:
    assert [quality_words(q) for q in (100, 80, 79, 60, 59, 40, 39, 0)] == [
        "Excellent quality", "Excellent quality", "Good quality", "Good quality", "Fair quality",
        "Fair quality", "Basic quality", "Basic quality",
    ]
    assert quality_words(None) is None
    assert [heat_words(h) for h in (None, -1, 0, 24, 25, 99, 100, 5000)] == [
        None, None, None, None, "Getting attention", "Getting attention", "🔥 Hot story", "🔥 Hot story",
    ]


def test_a_negative_heat_means_not_measured_and_is_not_shown() -> None:
    assert rating_line(40, -1) == "Fair quality"
    assert rating_line(74, 104) == "Good quality · 🔥 Hot story"
    assert rating_line(None, None) == ""


def test_the_menu_opens_articles_by_id_in_plain_words() -> None:
    articles = [
        make_article(id="4f079d8d5eeb6983", title="**Bold** <@1>  title"),
        make_article(id="x" * 101, title="Unreachable"),
        make_article(id="00000000000000aa", title="T" * 300, provider=Provider("P" * 200, None)),
    ]
    options = article_menu_options(articles)
    assert options[0] == {
        "label": f"**Bold** <{ZERO_WIDTH_SPACE}@1> title", "value": "4f079d8d5eeb6983",
        "description": "News Outlet · 1 Mar 2024",
    }
    assert [option["value"] for option in options] == ["4f079d8d5eeb6983", "00000000000000aa"]
    assert all(len(text) <= 100 for option in options for text in option.values())
    many = article_menu_options([make_article(id=f"{n:016x}") for n in range(30)])
    assert len(many) == 25


def worst_case_article() -> Article:
    """The longest title, provider and topics, 10 related entries with long titles, and a 5,000-character
    excerpt without a single space."""
    related = tuple(
        Related(
            title=f"Related {n} " + "L" * 600, url=f"https://related{n}.example/" + "p" * 1900,
            provider=Provider("R" * 300, f"related{n}.example"), published_at=PUBLISHED, quality=n * 10,
        )
        for n in range(10)
    )
    return make_article(
        title="W" * 2000, excerpt="x" * 5000, provider=Provider("P" * 500, "p.example"),
        topics=tuple("T" * 200 + str(n) for n in range(50)), related=related,
        url="https://news.example/" + "u" * 2000, images=(Image("https://news.example/" + "i" * 2000),),
    )


def test_the_worst_case_article_fits_every_limit_in_article_and_search_pages() -> None:
    article = worst_case_article()
    assert message_problems(message([article_embed(article).embed])) == []
    embed = article_embed(article).embed
    assert embed["description"].endswith("…") and len(embed["title"]) == 256
    for hits in (1, 5, 10):
        page = results_page(
            "Search: " + "q" * 6000, [(article, marked("**" + "x" * 5000 + "**"))] * hits,
            page=7, pages=10, summary="1,000+ results · the best 50 shown", footer_hint="topic " + "t" * 3000,
        )
        assert message_problems(message([page])) == []
        listing = article_list("Top " + "q" * 300, [article] * hits, page=2, pages=10,
                               summary="1,000+ articles", with_quality=True)
        assert message_problems(message([listing])) == []
    options = article_menu_options([article] * 10)
    assert all(len(text) <= 100 for option in options for text in option.values())


def test_a_full_page_of_long_results_keeps_every_highlight_whole() -> None:
    long = make_article(title="Long title " * 40, provider=Provider("P" * 200, None))
    hits = [(long, marked("w" * 90 + " **" + "m" * 30 + "** and more words after it"))] * 10
    embed = results_page("Search: match", hits, page=1, pages=1, summary="10 results")
    for block in embed["description"].split("\n\n"):
        assert block.count("**") % 2 == 0, block
        assert block.splitlines()[-1].startswith("www"), "every result keeps its passage"
    assert message_problems(message([embed])) == []
