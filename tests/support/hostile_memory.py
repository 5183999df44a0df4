"""Run in a fresh process by tests/unit/test_fuzz.py: parse the largest hostile inputs
newsmon accepts (a page and a feed at their size limits, entity bombs, deep nesting, a
long query) as newsmon reads them (a feed's first 200 items), and print how far the
process's peak memory rose above its start, in MB."""

from __future__ import annotations

import contextlib
import resource
import sys
from itertools import pairwise

from pipeline.alerts.rule_filter import parse
from pipeline.config.settings import Settings
from pipeline.errors import FeedParseError
from pipeline.ingest.extract import extract
from pipeline.ingest.rss import parse_feed
from pipeline.search.query import analysed_query

LIMITS = Settings.model_fields
PAGE_LIMIT = int(LIMITS["max_page_bytes"].default)
FEED_LIMIT = int(LIMITS["max_feed_bytes"].default)
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + "x" * 1000
    + '">'
    + "".join(f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in pairwise("abcdefgh"))
    + "]><rss><channel><title>&h;</title><item><title>&h;</title>"
    "<link>https://x.example/1</link></item></channel></rss>"
).encode()


def _fill(unit: str, limit: int, head: str = "", tail: str = "") -> bytes:
    return (head + unit * ((limit - len(head) - len(tail)) // len(unit)) + tail).encode()


def hostile_pages() -> list[bytes]:
    paragraph = "<p>Officials said the missile test was the third this month. </p>"
    return [
        _fill(paragraph, PAGE_LIMIT, "<html><body><article>", "</article></body></html>"),
        _fill("<div>", PAGE_LIMIT // 2, "<html><body>"),  # 500,000 unclosed, nested divs
        _fill("<a href='/x'>link</a> ", PAGE_LIMIT, "<html><body>"),
        BOMB,
    ]


def hostile_feeds() -> list[bytes]:
    item = "<item><title>t</title><link>https://x.example/{}</link></item>"
    items = "".join(item.format(n) for n in range(FEED_LIMIT // len(item)))
    return [
        f"<rss><channel><title>big</title>{items}</channel></rss>".encode()[:FEED_LIMIT],
        BOMB,
        _fill("<item>", FEED_LIMIT // 2, "<rss><channel>"),
    ]


def main() -> None:
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for page in hostile_pages():
        extract(page, "https://hostile.example/page")
    for feed in hostile_feeds():
        with contextlib.suppress(FeedParseError):  # a clear error is a fine answer too
            parse_feed("hostile", feed, base_url="https://hostile.example/feed", max_items=200)
    query = "(" * 500 + "missile OR " * 300 + ")" * 500
    analysed_query(query, ["en"])
    parse(query)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((peak - start) // 1024)  # MB


if __name__ == "__main__":
    sys.exit(main())
