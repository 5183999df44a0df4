"""Names for the ids analysts would otherwise read: entity names from entities.yaml,
topic names from topics.yaml, feed names from feeds.yaml, and a site's name (the feed
whose pages come from that host, else the host without a port). Filters keep using
the ids; these are labels only.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.config import FeedConfig, Settings, load_feeds, load_topics
from pipeline.errors import ConfigError


@dataclass(frozen=True)
class Names:
    entities: dict[str, str]
    topics: dict[str, str]
    feeds: dict[str, str]
    sites: dict[str, str]  # host (no port, no www.) -> feed name

    def entity(self, entity_id: str) -> str:
        return self.entities.get(entity_id, entity_id)

    def topic(self, topic_id: str) -> str:
        return self.topics.get(topic_id, topic_id)

    def source(self, site: str | None, feed_id: str | None = None) -> str:
        """The site's own name (trafilatura's sitename) when the page gave one; for a
        bare host, the feed's name, or the one feed on that host, else the host
        without its port."""
        if site and not _HOST.fullmatch(site):
            return site
        if feed_id and feed_id in self.feeds:
            return self.feeds[feed_id]
        host = _host(site or "")
        return self.sites.get(host, host or "?")

    def label(self, facet: str, value: str) -> str:
        if facet == "entities":
            return self.entity(value)
        if facet == "topics":
            return self.topic(value)
        if facet == "feed_id":
            return self.feeds.get(value, value)
        if facet == "site":
            return self.source(value)
        return value


_HOST = re.compile(r"[\w.-]+(:\d+)?")


def _host(site: str) -> str:
    host = urlsplit(site if "//" in site else f"//{site}").hostname or site
    return host.removeprefix("www.")


_cache: dict[Path, tuple[tuple[float, ...], Names]] = {}
_lock = threading.Lock()


def names_for(settings: Settings) -> Names:
    """The names, read again only when one of the config files changed."""
    files = [settings.config_dir / name for name in ("feeds.yaml", "topics.yaml", "entities.yaml")]
    stamp = tuple(path.stat().st_mtime if path.exists() else 0.0 for path in files)
    with _lock:
        cached = _cache.get(settings.config_dir)
        if cached and cached[0] == stamp:
            return cached[1]
    names = _load(settings)
    with _lock:
        _cache[settings.config_dir] = (stamp, names)
    return names


def _load(settings: Settings) -> Names:
    # Names are a courtesy: a missing or broken file is reported where it is used.
    try:
        feeds = load_feeds(settings)
    except ConfigError:
        feeds = []
    try:
        taxonomy = load_topics(settings)
        entities = {e.id: e.name for e in taxonomy.entities.values()}
        topics = {t.id: t.name for t in taxonomy.topics}
    except ConfigError:
        entities, topics = {}, {}
    return Names(
        entities=entities,
        topics=topics,
        feeds={feed.id: feed.name for feed in feeds},
        sites=_one_feed_hosts(feeds),
    )


def _one_feed_hosts(feeds: list[FeedConfig]) -> dict[str, str]:
    """Hosts that serve exactly one feed, with its name (a shared host names no feed)."""
    by_host: dict[str, list[str]] = {}
    for feed in feeds:
        by_host.setdefault(_host(urlsplit(feed.url).netloc), []).append(feed.name)
    return {host: names[0] for host, names in by_host.items() if len(names) == 1}
