"""Poll stage: read a feed into FeedEntry records, by the feed's kind.

To add a source kind (a JSON API, a sitemap, ...): write `pipeline/ingest/<kind>.py`
with a `poll(client, feed, settings, state) -> Poll` function, add it to SOURCES, and
add the kind to FeedConfig.kind (pipeline/config/feeds.py).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pipeline.config import FeedConfig, Settings
from pipeline.ingest import rss
from pipeline.models import Poll
from pipeline.store.feeds import FeedState

Poller = Callable[[httpx.Client, FeedConfig, Settings, FeedState | None], Poll]
SOURCES: dict[str, Poller] = {"rss": rss.poll}


def poll_feed(
    client: httpx.Client, feed: FeedConfig, settings: Settings, state: FeedState | None = None
) -> Poll:
    """Poll the feed, conditionally when `state` holds what the last poll saw."""
    return SOURCES[feed.kind](client, feed, settings, state)
