from __future__ import annotations

import gzip

import pytest

from pipeline.errors import PermanentFetchError
from pipeline.ingest.download import check_url, gunzip_if_compressed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://localhost:8080/feed",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_and_loopback_addresses_are_refused(url: str) -> None:
    with pytest.raises(PermanentFetchError, match="non-public address"):
        check_url(url, allow_private=False)


def test_private_addresses_allowed_when_configured() -> None:
    check_url("http://127.0.0.1:8000/feed", allow_private=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "http:///nohost"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(PermanentFetchError):
        check_url(url, allow_private=True)


def test_gzip_body_without_header_is_unpacked() -> None:
    assert gunzip_if_compressed(gzip.compress(b"<rss/>"), 100) == b"<rss/>"
    assert gunzip_if_compressed(b"<rss/>", 100) == b"<rss/>"


def test_gzip_bomb_is_stopped_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(PermanentFetchError, match="expands past"):
        gunzip_if_compressed(bomb, 1_000_000)
