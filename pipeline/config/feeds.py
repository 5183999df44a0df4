"""config/feeds.yaml: the feeds to poll."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from pipeline.config.loading import SLUG, Strict, load_list, reject_duplicate_ids
from pipeline.config.settings import Settings


class FeedConfig(Strict):
    id: str = Field(pattern=SLUG)
    url: str
    name: str = Field(min_length=1)
    # How the feed is read: one poller per kind in pipeline/ingest/poll.py (SOURCES).
    kind: Literal["rss"] = "rss"
    language: str | None = None
    interval: int | None = Field(default=None, ge=1, description="minutes between polls")

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
