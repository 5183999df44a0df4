"""robots.txt for article pages (feeds are fetched as their publishers offer them).

Each origin's robots.txt is read once per process and hour; with `redis_url` set, once
per hour for every worker on every machine (its text is kept in Redis for the hour). A
missing one (4xx) allows everything; one that cannot be read now (5xx, timeout) stops
this page with a retryable error, so the next run tries again instead of guessing.
"""

from __future__ import annotations

import hashlib
import time
import urllib.robotparser
from urllib.parse import urlsplit

import httpx

from pipeline.config import Settings
from pipeline.errors import PermanentFetchError, TransientFetchError
from pipeline.ingest.download import fetch
from pipeline.ingest.politeness import gate_for, shared_redis

MAX_ROBOTS_BYTES = 500_000
CACHE_SECONDS = 3600
_cache: dict[str, tuple[float, urllib.robotparser.RobotFileParser]] = {}


def check_allowed(client: httpx.Client, url: str, settings: Settings) -> None:
    """Raise PermanentFetchError when the page's robots.txt disallows newsmon."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    cached = _cache.get(origin)
    if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
        cached = (time.monotonic(), _load(client, origin, settings))
        _cache[origin] = cached
    agent = settings.user_agent.split("/")[0]
    if not cached[1].can_fetch(agent, url):
        raise PermanentFetchError(url, "disallowed by robots.txt")


def _load(
    client: httpx.Client, origin: str, settings: Settings
) -> urllib.robotparser.RobotFileParser:
    rules = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
    shared = shared_redis(settings)
    key = "newsmon:robots:" + hashlib.sha1(origin.encode()).hexdigest()
    kept: bytes | None = shared.get(key) if shared is not None else None  # type: ignore[assignment]
    if kept is None:
        text = _fetch_text(client, origin, settings)
        if shared is not None:
            shared.set(key, text, ex=CACHE_SECONDS)
    else:
        text = kept.decode("utf-8")
    rules.parse(text.splitlines())
    return rules


def _fetch_text(client: httpx.Client, origin: str, settings: Settings) -> str:
    """The origin's robots.txt; empty (everything allowed) when there is none."""
    try:
        response = fetch(
            client,
            f"{origin}/robots.txt",
            max_bytes=MAX_ROBOTS_BYTES,
            allow_private=settings.allow_private_networks,
            deadline_seconds=settings.http_timeout,
            gate=gate_for(settings),
        )
    except PermanentFetchError:
        return ""  # no robots.txt (or an unusable one): everything allowed
    except TransientFetchError as exc:
        raise TransientFetchError(exc.url, f"robots.txt unavailable: {exc.reason}") from None
    return response.body.decode("utf-8", errors="replace")
