from __future__ import annotations

import gzip
import io

import feedparser
import pytest

from pipeline.errors import FeedParseError
from pipeline.ingest.download import gunzip_if_compressed
from pipeline.ingest.rss import _first_items, parse_feed
from tests.support import FIXTURES

FEEDS = FIXTURES / "site" / "feeds"
BASE = "http://news.example"


def _feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes().replace(b"{{BASE}}", BASE.encode())


def test_rss_entries_with_relative_links_and_dates() -> None:
    entries = parse_feed("world", _feed("world.rss"), base_url=f"{BASE}/feeds/world.rss")
    assert [e.url for e in entries] == [
        f"{BASE}/articles/putin-ri-hi-yong.html?utm_source=rss&utm_medium=feed",
        f"{BASE}/articles/hwasong-launch.html",  # relative link resolved
        f"{BASE}/articles/russia-china-trade.html",
        f"{BASE}/articles/missing.html",
        f"{BASE}/articles/paywalled.html",
    ]  # the entry without a link is dropped
    first = entries[0]
    assert first.feed_id == "world" and first.guid == "fixture-1"
    assert (
        first.published is not None and first.published.isoformat() == "2026-11-20T08:30:00+00:00"
    )
    assert entries[3].published is None


def test_atom_entries() -> None:
    entries = parse_feed("korea", _feed("korea.atom"), base_url=f"{BASE}/feeds/korea.atom")
    assert len(entries) == 3
    assert entries[0].title.startswith("South Korea's ruling party")
    assert entries[0].published is not None


@pytest.mark.parametrize("name", ["world.rss", "korea.atom"])
def test_only_the_first_items_are_read_and_the_feed_stays_well_formed(name: str) -> None:
    """A feed is cut before its (n+1)-th item and closed again, so the strict parser still
    reads it: the same first entries and the same feed links as the whole feed."""
    whole = parse_feed("f", _feed(name), base_url=f"{BASE}/feeds/{name}")
    first = parse_feed("f", _feed(name), base_url=f"{BASE}/feeds/{name}", max_items=2)
    assert first == whole[: len(first)] and 1 <= len(first) <= 2
    cut = _first_items(_feed(name), 2)
    assert feedparser.parse(io.BytesIO(cut)).bozo == 0  # well-formed: no loose re-parse


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedParseError, match="not a readable feed"):
        parse_feed("x", _feed("not-a-feed.html"), base_url=BASE)


def test_duplicate_links_in_one_feed_are_collapsed() -> None:
    item = "<item><title>t</title><link>http://news.example/a?utm_source=x</link></item>"
    body = f'<rss version="2.0"><channel><title>c</title>{item}{item}</channel></rss>'.encode()
    assert len(parse_feed("x", body, base_url=BASE)) == 1


def test_gzipped_feed_body_parses_after_unpacking() -> None:
    body = gunzip_if_compressed(gzip.compress(_feed("world.rss")), 1_000_000)
    assert len(parse_feed("world", body, base_url=BASE)) == 5


def test_javascript_links_are_dropped() -> None:
    body = (
        b'<rss version="2.0"><channel><title>c</title>'
        b"<item><title>t</title><link>javascript:alert(1)</link></item></channel></rss>"
    )
    assert parse_feed("x", body, base_url=BASE) == []
