"""Property-based fuzzing of what reads untrusted or hand-typed input: feed parsing, page
extraction, the query rewrite and the rule prefilter's parser. Hostile inputs are built
from the fixture feeds and pages (cut, spliced, with junk inserted) and from random
text; each must give a result or the module's own clear error, quickly. Fixed seed
(derandomize) and a bounded number of examples, so CI runs the same cases every time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.alerts.rule_filter import parse
from pipeline.errors import FeedParseError
from pipeline.ingest.extract import extract
from pipeline.ingest.rss import parse_feed
from pipeline.search.query import analysed_query, highlight_query

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "tests" / "fixtures" / "site"
MEMORY_BUDGET_MB = 300
FEEDS = [path.read_bytes() for path in sorted((SITE / "feeds").iterdir())]
PAGES = [path.read_bytes() for path in sorted((SITE / "articles").iterdir())]
JUNK = [
    b"<!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;&a;'>]>",  # entity expansion
    b"<![CDATA[",
    b"\x00\xff\xfe",
    b"</channel></rss>" * 3,
    b"<" * 200,
    b"<item><link>javascript:alert(1)</link></item>",
    "<title>\u202e\ud7ff北한 ракета</title>".encode(),
]
FUZZ = settings(
    derandomize=True,
    max_examples=150,
    deadline=5000,  # ms per example: nothing may hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mangled(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed cut at random points, with junk or random bytes spliced in."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        insert = draw(st.one_of(st.sampled_from(JUNK), st.binary(max_size=64)))
        cut = draw(st.integers(0, 200))
        data = data[:at] + insert + data[at + cut :]
    return data


@FUZZ
@given(body=st.one_of(mangled(FEEDS), st.binary(max_size=2000)))
def test_feed_parsing_gives_entries_or_a_feed_error(body: bytes) -> None:
    try:
        entries = parse_feed("fuzz", body, base_url="https://fuzz.example/feed")
    except FeedParseError:
        return
    assert all(entry.url.startswith(("http://", "https://")) for entry in entries)


@FUZZ
@given(html=st.one_of(mangled(PAGES), st.binary(max_size=2000)))
def test_extraction_gives_an_article_or_a_reason(html: bytes) -> None:
    result = extract(html, "https://fuzz.example/article")
    assert (result.article is None) != (result.problem is None)


QUERY_PIECES = [*'abc ракета 미사일 北 "()*?~^:-+!&|[]{}\\/', " AND ", " OR ", " NOT ", "title:"]
QUERY_TEXT = st.lists(st.sampled_from(QUERY_PIECES), max_size=40).map("".join)


@FUZZ
@given(query=st.one_of(QUERY_TEXT, st.text(max_size=300)))
def test_query_rewrite_and_highlights_never_fail(query: str) -> None:
    rewritten = analysed_query(query, ["en"])
    if query.count('"') % 2 == 0 and query.count("(") == query.count(")"):
        assert rewritten.count("(") == rewritten.count(")")
    highlight_query(query)


@FUZZ
@given(query=st.one_of(QUERY_TEXT, st.text(max_size=300)))
def test_the_rule_prefilter_parses_or_gives_up(query: str) -> None:
    parse(query)  # a node, or None ("cannot rule it out"): never an exception


def test_the_largest_hostile_inputs_stay_within_bounded_memory() -> None:
    """A page and a feed at their size limits (dense markup, 150,000 items, half a million
    unclosed elements), an entity bomb and a deeply nested query, in a fresh process:
    its peak memory may rise by MEMORY_BUDGET_MB at most (they once took 1.3 GB and four
    minutes), and it must end (the timeout is a hang guard, not a speed test)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.hostile_memory"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) <= MEMORY_BUDGET_MB
