"""Corpus file parsing: decoding, front-matter split, YAML errors and bombs, on seeds and awkward files."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.corpus import parse
from bot.corpus.model import Article, Rejection
from bot.corpus.parse import MAX_FILE_BYTES, parse_article, read_article

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
REPO = Path(__file__).resolve().parents[2]

MINIMAL = textwrap.dedent(
    """\
    ---
    title: "A plain title"
    publishedDateTime: 2022-07-29T15:05:00Z
    webUrl: "https://example.com/story"
    ---
    """
)


def article(result: Article | Rejection) -> Article:
    assert isinstance(result, Article), result
    return result


def rejection(result: Article | Rejection) -> Rejection:
    assert isinstance(result, Rejection), result
    return result


def front_matter(body: str) -> bytes:
    """A file whose front matter is the required fields followed by `body`."""
    return (MINIMAL.removesuffix("---\n") + body + "---\n").encode()


# --- real seeds -----------------------------------------------------------------------------------


def test_every_seed_loads_without_warnings() -> None:
    for path in sorted(SEEDS.iterdir()):
        loaded = article(read_article(path))
        assert loaded.warnings == ()
        assert loaded.source_file == path.name
        assert loaded.id == ""
        assert loaded.published_at.tzinfo is UTC


def test_seed_ids_come_from_file_names() -> None:
    loaded = article(read_article(SEEDS / "000_4f079d8d5eeb6983.txt"))
    assert loaded.id_hint == "4f079d8d5eeb6983"


def test_seed_fields_and_mojibake_repair() -> None:
    loaded = article(read_article(SEEDS / "000_4f079d8d5eeb6983.txt"))
    assert loaded.title == "New Orleans Mayor OKs Police Use of Facial Recognition Technology"
    assert loaded.url == (
        "https://thecrimereport.org/2022/07/29/new-orleans-mayor-oks-police-use-of-facial-recognition-technology/"
    )
    assert loaded.published_at == datetime(2022, 7, 29, 15, 5, tzinfo=UTC)
    assert (loaded.quality, loaded.heat, loaded.published) == (39, -1, False)
    assert loaded.provider is not None and loaded.provider.domain == "thecrimereport.org"
    assert loaded.topics == ("Computer Vision", "AI")
    assert loaded.image is not None and loaded.image.endswith("facial-by-martin-Jolicoeur-e1524454035839.jpg")
    excerpts = " ".join(related.excerpt or "" for related in loaded.related)
    assert "city’s ban" in excerpts
    assert "â€" not in excerpts


def test_seed_related_sorted_best_quality_first() -> None:
    loaded = article(read_article(SEEDS / "000_4f079d8d5eeb6983.txt"))
    assert [related.quality for related in loaded.related] == [61, 19, 10]
    assert loaded.related[0].provider is not None and loaded.related[0].provider.name == "Protocol"
    assert loaded.related[0].published_at == datetime(2022, 7, 26, 9, 30, tzinfo=UTC)


def test_seed_keeps_curly_quotes_and_secured_verbatim() -> None:
    data = (SEEDS / "003_48933d0774f4b3c7.txt").read_bytes()
    loaded = article(parse_article("003_48933d0774f4b3c7.txt", data))
    assert any("NOPD’s" in related.title for related in loaded.related)
    assert loaded.secured is not None and loaded.secured.endswith(";L0DHb9oU1hkYgNXcEZO/6w==")
    assert f'secured: "{loaded.secured}"'.encode() in data


def test_results_survive_pickling_for_worker_processes() -> None:
    loaded = article(read_article(SEEDS / "001_f49c33e8b2a4a914.txt"))
    assert pickle.loads(pickle.dumps(loaded)) == loaded
    rejected = rejection(parse_article("x.txt", b"no front matter"))
    assert pickle.loads(pickle.dumps(rejected)) == rejected


# --- decoding and the front-matter split ----------------------------------------------------------


def test_bom_and_crlf_are_accepted() -> None:
    plain = article(parse_article("a.txt", MINIMAL.encode()))
    with_bom = article(parse_article("a.txt", b"\xef\xbb\xbf" + MINIMAL.encode()))
    crlf = article(parse_article("a.txt", b"\xef\xbb\xbf" + MINIMAL.replace("\n", "\r\n").encode()))
    assert plain == with_bom == crlf


def test_title_containing_dashes_does_not_end_the_front_matter() -> None:
    data = MINIMAL.replace('"A plain title"', '"--- Breaking --- news ---"').encode()
    assert article(parse_article("a.txt", data)).title == "--- Breaking --- news ---"


def test_front_matter_ends_at_first_line_that_is_only_dashes() -> None:
    data = (MINIMAL + "body text\n---\nnot: yaml: [\n").encode()
    assert article(parse_article("a.txt", data)).title == "A plain title"


def test_only_a_line_of_exactly_three_dashes_opens_or_closes_front_matter() -> None:
    opened_with_space = MINIMAL.replace("---\n", "--- \n", 1).encode()
    assert "no front matter" in rejection(parse_article("a.txt", opened_with_space)).reason
    lines = MINIMAL.splitlines(keepends=True)
    closed_with_space = "".join([*lines[:-1], "--- \n", "excerpt: kept\n", "---\n"]).encode()
    # `--- ` is not the closing line, so YAML sees it (a second document) and names its line.
    assert "line 5" in rejection(parse_article("a.txt", closed_with_space)).reason


def test_invalid_utf8_is_rejected_with_the_byte_offset() -> None:
    data = MINIMAL.encode().replace(b"plain", b"pl\xffin")
    offset = data.index(b"\xff")
    assert rejection(parse_article("bad.txt", data)) == Rejection(
        file="bad.txt", reason=f"encoding: not valid UTF-8 at byte offset {offset} (invalid start byte)"
    )
    with_bom = b"\xef\xbb\xbf" + data
    assert f"byte offset {offset + 3} " in rejection(parse_article("bad.txt", with_bom)).reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"title: no dashes\n", "line 1: no front matter (the file must start with a '---' line)"),
        (b"", "line 1: no front matter (the file must start with a '---' line)"),
        (b"---\ntitle: x\n", "front matter: no closing '---' line"),
        (b"---\n---\nbody\n", "front matter: empty"),
        (b"---\n- a\n- b\n---\n", "front matter: expected a mapping of fields, got a list"),
        (b"---\njust text\n---\n", "front matter: expected a mapping of fields, got a str"),
    ],
)
def test_front_matter_shape_rejections(data: bytes, reason: str) -> None:
    assert rejection(parse_article("f.md", data)) == Rejection(file="f.md", reason=reason)


def test_yaml_syntax_error_names_the_file_line() -> None:
    data = front_matter('excerpt: "unterminated\nquality: [1, 2\nheat: }\n')
    reason = rejection(parse_article("f.txt", data)).reason
    assert reason.startswith("line ")
    line = int(reason.split(":", 1)[0].removeprefix("line "))
    assert 6 <= line <= 8


def test_yaml_indentation_error_names_the_file_line() -> None:
    data = b"---\ntitle: x\n  bad: indent\n---\n"
    assert rejection(parse_article("f.txt", data)).reason.startswith("line 3: ")


def test_impossible_yaml_timestamp_is_rejected_not_raised() -> None:
    data = MINIMAL.replace("2022-07-29T15:05:00Z", "2022-02-30T15:05:00Z").encode()
    assert "day is out of range" in rejection(parse_article("f.txt", data)).reason


def test_unhashable_key_is_rejected_with_its_line() -> None:
    data = front_matter("? [a, b]\n: value\n")
    assert "unhashable" in rejection(parse_article("f.txt", data)).reason


# --- size limit and reading -----------------------------------------------------------------------


def test_oversized_file_is_rejected_without_being_opened(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(MINIMAL.encode() + b"x" * 100)

    def refuse_open(*args, **kwargs):
        raise AssertionError("an oversized file must not be read")

    monkeypatch.setattr(Path, "open", refuse_open)
    result = rejection(read_article(path, max_bytes=64))
    assert result.file == "big.txt"
    assert result.reason.startswith("file: larger than the 64-byte limit")


def test_file_at_the_limit_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "ok.txt"
    path.write_bytes(MINIMAL.encode())
    assert article(read_article(path, max_bytes=len(MINIMAL.encode()))).title == "A plain title"
    assert MAX_FILE_BYTES == 1 << 20


def test_unreadable_file_is_a_rejection(tmp_path: Path) -> None:
    result = rejection(read_article(tmp_path / "missing.txt"))
    assert result.file == "missing.txt"
    assert result.reason.startswith("file: cannot read")


# --- YAML bombs and deep nesting ------------------------------------------------------------------

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
topics: *i
"""


def merge_key_chain(levels: int) -> str:
    """Each mapping merges the previous one twice over: the merged size doubles per level."""
    lines = ["m0: &m0 {k0: v, j0: v}"]
    for level in range(1, levels + 1):
        lines.append(f"m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}], k{level}: v}}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_rejected() -> None:
    result = rejection(parse_article("bomb.txt", front_matter(BILLION_LAUGHS)))
    assert "aliases expand to more than 100000 nodes" in result.reason
    assert result.reason.startswith("line ")


def test_merge_key_chain_is_rejected() -> None:
    result = rejection(parse_article("merge.txt", front_matter(merge_key_chain(40))))
    assert "aliases expand to more than" in result.reason


def test_modest_aliases_and_merge_keys_still_load() -> None:
    body = "base: &base {name: Example, domain: EXAMPLE.com}\nprovider: {<<: *base}\ntopics: &t [AI]\nx: *t\n"
    loaded = article(parse_article("ok.txt", front_matter(body)))
    assert loaded.provider is not None and loaded.provider.domain == "example.com"
    assert loaded.topics == ("AI",)


def test_nesting_below_the_limit_still_loads() -> None:
    loaded = article(parse_article("ok.txt", front_matter("extra: " + "[" * 60 + "]" * 60 + "\n")))
    assert loaded.title == "A plain title"


DEEP_BODIES = {
    "flow-sequences": "extra: " + "[" * 100_000 + "\n",
    "flow-mappings": "extra: " + "{a: " * 100_000 + "\n",
    "block-mappings": "extra:\n" + "".join(" " * (depth + 1) + f"k{depth}:\n" for depth in range(10_000)),
    "complex-key-mappings": "extra:\n  " + "? " * 10_000 + "x\n",
    "block-sequences": "extra:\n  " + "- " * 10_000 + "x\n",
    "block-then-flow": "extra:\n"
    + "".join(" " * (depth + 1) + f"k{depth}:\n" for depth in range(40))
    + " " * 41
    + "[" * 40
    + "\n",
    "flow-over-lines": "extra: [\n" + "  [\n" * 100,
    "anchored-and-tagged": "extra: " + "&a !!seq [" * 100 + "\n",
}


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_deep_nesting_is_rejected_in_process(body: str) -> None:
    result = rejection(parse_article("deep.txt", front_matter(body)))
    assert "nesting deeper than 64 levels" in result.reason
    assert result.reason.startswith("line ")


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
def test_deep_nesting_is_rejected_before_libyaml_reads_it(body: str, monkeypatch) -> None:
    """The project's own guard decides, whatever libyaml build is installed: libyaml is never asked."""

    def libyaml_must_not_run(*_args, **_kwargs):
        raise AssertionError("libyaml was asked to read over-deep YAML")

    monkeypatch.setattr(parse.yaml, "CSafeLoader", libyaml_must_not_run)
    monkeypatch.setattr(parse.yaml, "load", libyaml_must_not_run)
    assert "nesting deeper than 64 levels" in rejection(parse_article("deep.txt", front_matter(body))).reason


@pytest.mark.parametrize(
    "body",
    [
        'excerpt: "' + "[" * 100 + '"\n',
        "excerpt: '" + "{" * 100 + "'' [[['\n",
        "excerpt: see " + "[" * 100 + "\n",
        "excerpt: |\n  " + "[" * 100 + "\n  " + "{" * 100 + "\ntopics: [a]\n",
        "excerpt: >-\n  " + "- " * 100 + "x\n",
        "# " + "[" * 100 + "\nexcerpt: x # " + "{" * 100 + "\n",
        "topics: [\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\", it's]\n",
    ],
    ids=[
        "double-quoted",
        "single-quoted",
        "plain",
        "literal-block",
        "folded-block",
        "comments",
        "flow-quoted",
    ],
)
def test_brackets_inside_text_are_not_nesting(body: str) -> None:
    assert article(parse_article("text.txt", front_matter(body))).title == "A plain title"


def test_deep_nesting_leaves_the_process_alive() -> None:
    """libyaml's composer recurses in C: a fresh process survives 100k nested brackets and mappings,
    both with the project's guard and with only libyaml's event stream in front (some libyaml builds
    reject them with their own error first): only the behaviour is asserted for the latter."""
    script = textwrap.dedent(
        """
        import sys
        from bot.corpus import parse
        if sys.argv[1] == 'unguarded':
            parse._StructureScan.check = lambda self, text: None
        head = b'---\\ntitle: t\\npublishedDateTime: 2022-01-01\\nwebUrl: https://e.com/\\n'
        for body in (b'x: ' + b'[' * 100_000, b'x:\\n' + b'? ' * 100_000 + b'y'):
            result = parse.parse_article('deep.txt', head + body + b'\\n---\\n')
            print(type(result).__name__, result.reason)
        """
    )
    for mode in ("guarded", "unguarded"):
        completed = subprocess.run(
            [sys.executable, "-c", script, mode], cwd=REPO, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, (mode, completed.stderr)
        lines = completed.stdout.splitlines()
        assert [line.split(" ", 1)[0] for line in lines] == ["Rejection", "Rejection"], (mode, lines)
        if mode == "guarded":
            assert all("nesting deeper than 64 levels" in line for line in lines)


def test_asterisks_in_text_take_the_checked_path_and_still_load() -> None:
    body = 'excerpt: "A f*** up, rated *****"\ntopics: ["*", "AI"]\n'
    loaded = article(parse_article("stars.txt", front_matter(body)))
    assert loaded.excerpt == "A f*** up, rated *****"
    assert loaded.topics == ("*", "AI")
