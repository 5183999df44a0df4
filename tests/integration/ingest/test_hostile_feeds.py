"""Broken and hostile feeds from a real server on 127.0.0.1: each case and its outcome
(docs/operations.md lists the same). A bad feed costs only itself."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipeline.config import FeedConfig, Settings, load_settings
from pipeline.errors import FeedParseError, PermanentFetchError, TransientFetchError
from pipeline.ingest import robots
from pipeline.ingest.download import fetch, make_client, parse_retry_after
from pipeline.ingest.fetch import fetch_page
from pipeline.ingest.poll import poll_feed
from pipeline.models import FeedEntry
from tests.support.hostile_site import HostileSite


@pytest.fixture(scope="module")
def site() -> Iterator[HostileSite]:
    served = HostileSite()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(
        {
            "NEWSMON_ALLOW_PRIVATE_NETWORKS": "1",  # the hostile server itself is on loopback
            "NEWSMON_HTTP_TIMEOUT": "2",
            "NEWSMON_MAX_FEED_BYTES": "1000000",
            "NEWSMON_HOST_MIN_DELAY_SECONDS": "0",  # one host: spacing would only add waits
        }
    )


def poll(site: HostileSite, settings: Settings, path: str) -> list[tuple[str, str, bool]]:
    client = make_client(settings)
    try:
        found = poll_feed(client, FeedConfig(id="h", url=site.base_url + path, name="h"), settings)
    finally:
        client.close()
    return [
        (e.title, e.url.replace(site.base_url, ""), e.published is not None) for e in found.entries
    ]


@pytest.mark.parametrize(
    ("path", "entries"),
    [
        # feedparser's bozo case (unescaped &, unclosed tag): entries still read
        ("/malformed.rss", [("Talks & more <b>bold", "/a/malformed", True)]),
        # no charset in header or prolog, Latin-1 bytes: decoded, not mangled
        ("/latin1.rss", [("Café in Pyongyang: Kim's visit", "/a/latin1", True)]),
        ("/cp1251.rss", [("Путин встретился с Ким Чен Ыном", "/a/cp1251", True)]),
        ("/gb2312.rss", [("朝鲜发射导弹", "/a/gb2312", True)]),
        # gzip body without Content-Encoding: unpacked (bounded)
        ("/gzip-no-header.rss", [("Zipped", "/a/zipped", True)]),
        # relative links resolved against the feed's URL
        (
            "/relative.rss",
            [("Relative", "/news/2026/story.html", True), ("Rooted", "/news/other.html", True)],
        ),
        # no link: the GUID if it is a URL, else dropped; no date: kept, undated
        (
            "/no-links.rss",
            [
                ("Guid only", "https://news.example/guid-link", True),
                ("No date", "/a/undated", False),
            ],
        ),
        # duplicates go by canonical link, not GUID (GUIDs are reused carelessly)
        ("/duplicate-guids.rss", [("First", "/a/one", True), ("Second", "/a/two", True)]),
        # file: and javascript: links dropped; http links to private addresses are kept
        # here, and refused when their page is fetched (test below)
        (
            "/private-links.rss",
            [
                ("Metadata", "http://169.254.169.254/latest/meta-data/", True),
                ("Intranet", "http://10.0.0.7/admin", True),
            ],
        ),
    ],
)
def test_readable_despite_defects(
    site: HostileSite, settings: Settings, path: str, entries: list[tuple[str, str, bool]]
) -> None:
    assert poll(site, settings, path) == entries


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/bomb.rss", PermanentFetchError, "body larger than 1000000 bytes"),
        ("/bomb-no-header.rss", PermanentFetchError, "gzip body expands past 1000000 bytes"),
        ("/huge.rss", PermanentFetchError, "body larger than 1000000 bytes"),
        ("/loop-a.rss", PermanentFetchError, "redirect loop at"),
        ("/page.html", FeedParseError, "not a readable feed"),
        ("/gone.rss", PermanentFetchError, "HTTP 410"),
        ("/nothing-here.rss", PermanentFetchError, "HTTP 404"),
        ("/busy.rss", TransientFetchError, "HTTP 503 (Retry-After 120 s)"),
    ],
)
def test_refused_with_a_clear_error(
    site: HostileSite, settings: Settings, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        poll(site, settings, path)
    assert message in str(info.value) and site.base_url + path in str(info.value)


def test_endless_slow_response_is_cut_at_the_deadline(
    site: HostileSite, settings: Settings
) -> None:
    started = time.monotonic()
    with pytest.raises(TransientFetchError, match="too slow"):
        poll(site, settings, "/endless.rss")
    assert time.monotonic() - started < settings.http_timeout * 3 + 2


def test_links_to_private_addresses_are_refused_before_connecting() -> None:
    strict = load_settings({"NEWSMON_HTTP_TIMEOUT": "2"})
    client = make_client(strict)
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/admin"):
        started = time.monotonic()
        with pytest.raises(PermanentFetchError, match="refusing non-public address"):
            fetch(client, url, max_bytes=1000, allow_private=False)
        assert time.monotonic() - started < 0.5  # refused, not timed out


def test_a_name_that_resolves_elsewhere_at_connect_time_is_refused(
    site: HostileSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the first lookup (the check) gives a public address, the next one
    the loopback server. The connection must go to the address that was checked."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> object:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    strict = load_settings({"NEWSMON_HTTP_TIMEOUT": "2"})
    url = site.base_url.replace("127.0.0.1", "rebind.example") + "/page.html"
    with pytest.raises(PermanentFetchError, match=r"refusing non-public address 127\.0\.0\.1"):
        fetch(make_client(strict), url, max_bytes=100_000, allow_private=False, retries=0)
    assert len(lookups) == 2  # checked, then resolved once more where it connects


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("120") == 120
    now = datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp()
    assert parse_retry_after("Sat, 28 Nov 2026 12:02:00 GMT", now=now) == 120
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_robots_txt_is_respected_for_article_pages(site: HostileSite, settings: Settings) -> None:
    client = make_client(settings)
    entry = lambda path: FeedEntry("h", site.base_url + path, "t", "", None, path)  # noqa: E731
    try:
        assert fetch_page(client, entry("/open/story.html"), settings).body == b"<p>open</p>"
        with pytest.raises(PermanentFetchError, match=r"disallowed by robots\.txt"):
            fetch_page(client, entry("/private/story.html"), settings)
        ignoring = settings.model_copy(update={"respect_robots": False})
        assert fetch_page(client, entry("/private/story.html"), ignoring).body == b"<p>private</p>"
    finally:
        client.close()
    assert site.hits["/robots.txt"] == 1  # read once per origin, then cached


def test_robots_txt_is_read_once_for_every_worker_sharing_a_redis(
    site: HostileSite, settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    client = make_client(shared)
    entry = lambda path: FeedEntry("h", site.base_url + path, "t", "", None, path)  # noqa: E731
    before = site.hits["/robots.txt"]
    try:
        for _worker in range(2):  # a worker elsewhere: its own memory, the same Redis
            robots._cache.clear()
            with pytest.raises(PermanentFetchError, match=r"disallowed by robots\.txt"):
                fetch_page(client, entry("/private/story.html"), shared)
            assert fetch_page(client, entry("/open/story.html"), shared).body == b"<p>open</p>"
    finally:
        client.close()
        robots._cache.clear()
    assert site.hits["/robots.txt"] == before + 1


def test_quick_transient_failures_are_retried_with_backoff(
    site: HostileSite, settings: Settings
) -> None:
    started = time.monotonic()
    assert poll(site, settings, "/flaky.rss") == [("Third time", "/a/flaky", True)]
    assert site.hits["/flaky.rss"] == 3  # two 503s, then the feed
    assert time.monotonic() - started >= 0.5  # backoff 0.5 s then 1 s (± half)
    busy_before = site.hits.get("/busy.rss", 0)
    with pytest.raises(TransientFetchError):
        poll(site, settings, "/busy.rss")  # Retry-After 120 s: past the deadline, no retry
    assert site.hits["/busy.rss"] == busy_before + 1
