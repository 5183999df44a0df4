"""Feed discovery: from a site or section page to the feeds it advertises
(`<link rel="alternate">` with an RSS/Atom type), each checked by polling it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
import lxml.html

from pipeline.config import FeedConfig, Settings
from pipeline.errors import FeedParseError, FetchError
from pipeline.ingest.download import fetch, gunzip_if_compressed
from pipeline.ingest.politeness import gate_for
from pipeline.ingest.poll import poll_feed
from pipeline.ingest.rss import items_read, parse_feed
from pipeline.urls import canonicalize_url

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json"}


@dataclass(frozen=True)
class Candidate:
    url: str
    title: str
    entries: int = 0
    error: str | None = None


def discover(client: httpx.Client, url: str, settings: Settings) -> list[Candidate]:
    """The URL itself when it is a feed, else the feeds its page links to; each
    candidate is polled once, and says how many entries it had or what was wrong."""
    response = fetch(
        client,
        url,
        max_bytes=settings.max_feed_bytes,
        allow_private=settings.allow_private_networks,
        gate=gate_for(settings),
    )
    body = gunzip_if_compressed(response.body, settings.max_feed_bytes, url)
    try:
        entries = parse_feed(
            "discover",
            body,
            base_url=response.final_url,
            content_type=response.headers.get("content-type"),
            max_items=items_read(settings),
        )
        return [Candidate(url, urlsplit(url).hostname or url, len(entries))]
    except FeedParseError:
        pass
    return [_check(client, link, title, settings) for link, title in _alternates(body, url)]


def _alternates(body: bytes, base_url: str) -> list[tuple[str, str]]:
    try:
        page = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return []
    found: dict[str, tuple[str, str]] = {}
    for link in page.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            absolute = urljoin(base_url, href)
            if urlsplit(absolute).scheme in ("http", "https"):
                title = re.sub(r"\s+", " ", link.get("title") or "").strip()
                found.setdefault(canonicalize_url(absolute), (absolute, title))
    return list(found.values())


def _check(client: httpx.Client, url: str, title: str, settings: Settings) -> Candidate:
    feed = FeedConfig(id="candidate", url=url, name=title or url)
    try:
        poll = poll_feed(client, feed, settings)
    except (FetchError, FeedParseError) as exc:
        return Candidate(url, title, error=str(exc))
    return Candidate(url, title or urlsplit(url).hostname or url, len(poll.entries))


def feed_id(title: str, url: str, taken: set[str]) -> str:
    """A slug from the title (or host), unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", (title or urlsplit(url).hostname or "feed").lower())
    base = base.strip("-")[:50] or "feed"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate
