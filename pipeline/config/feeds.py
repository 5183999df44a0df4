"""config/feeds.yaml: the feeds to poll."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.config.loading import SLUG, Strict, load_list, reject_duplicate_ids
from pipeline.config.settings import Settings
from pipeline.errors import ConfigError


class FeedConfig(Strict):
    id: str = Field(pattern=SLUG)
    url: str
    name: str = Field(min_length=1)
    # How the feed is read: one poller per kind in pipeline/ingest/poll.py (SOURCES).
    kind: Literal["rss"] = "rss"
    language: str | None = None
    interval: int | None = Field(default=None, ge=1, description="minutes between polls")
    max_interval: int | None = Field(default=None, ge=1, description="longest wait, minutes")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


def load_feeds(settings: Settings) -> list[FeedConfig]:
    path = settings.config_dir / "feeds.yaml"
    feeds = load_list(path, "feeds", FeedConfig)
    reject_duplicate_ids(path, "feeds", feeds)
    return feeds


def select_feeds(settings: Settings, feed_ids: list[str] | None) -> list[FeedConfig]:
    """The configured feeds with these ids (all when None), in the order asked."""
    feeds = load_feeds(settings)
    if not feed_ids:
        return feeds
    by_id = {feed.id: feed for feed in feeds}
    unknown = [fid for fid in feed_ids if fid not in by_id]
    if unknown:
        raise ConfigError(
            str(settings.config_dir / "feeds.yaml"), "feeds", f"no feed with id {unknown[0]!r}"
        )
    return [by_id[fid] for fid in feed_ids]
