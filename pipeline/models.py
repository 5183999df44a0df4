"""Records passed from stage to stage: FeedEntry -> Page -> Article -> TaggedArticle."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FeedEntry:
    feed_id: str
    url: str
    title: str
    summary: str
    published: datetime | None
    guid: str


@dataclass(frozen=True)
class Page:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Article:
    id: str
    url: str
    canonical_url: str
    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    language: str | None
    site: str | None
    feed_id: str | None = None
    content_hash: str = ""  # set by the dedup stage


@dataclass(frozen=True)
class Evidence:
    """One matched term: `field` is "title" or "text", offsets index into that field."""

    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Tag:
    topic: str
    score: float
    evidence: list[Evidence]


@dataclass(frozen=True)
class TaggedArticle:
    article: Article
    tags: list[Tag]
    fetched_at: datetime

    def to_document(self) -> dict[str, Any]:
        """The Elasticsearch document (see config/elasticsearch/articles.json)."""
        doc = asdict(self.article)
        doc.pop("id")
        doc["published_at"] = _iso(self.article.published_at)
        doc["fetched_at"] = _iso(self.fetched_at)
        doc["topics"] = [tag.topic for tag in self.tags]
        doc["tags"] = [asdict(tag) for tag in self.tags]
        doc["cluster_id"] = self.article.id
        return doc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class FeedResult:
    """What one feed's ingest did; summed into a RunSummary."""

    feed_id: str
    ok: bool = True
    error: str | None = None
    entries: int = 0
    new: int = 0
    duplicate: int = 0
    extracted: int = 0
    failed: int = 0
    indexed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    feeds: list[FeedResult]

    COUNTERS = ("entries", "new", "duplicate", "extracted", "failed", "indexed")

    def totals(self) -> dict[str, int]:
        totals = {
            "feeds_ok": sum(1 for f in self.feeds if f.ok),
            "feeds_failed": sum(1 for f in self.feeds if not f.ok),
        }
        for name in self.COUNTERS:
            totals[name] = sum(getattr(f, name) for f in self.feeds)
        return totals

    def to_json(self) -> dict[str, Any]:
        return {"totals": self.totals(), "feeds": [asdict(f) for f in self.feeds]}
