"""Records passed from stage to stage: FeedEntry -> Page -> Article -> TaggedArticle ->
AlertEvent, and the results of an ingest run. Plain data: no I/O here."""

from __future__ import annotations

import hashlib
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
class Poll:
    """What polling a feed found: `status` is fetched (entries parsed), not_modified
    (HTTP 304) or unchanged (the same body as last time, whatever the server said)."""

    status: str
    entries: list[FeedEntry]
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    hub: str | None = None  # WebSub hub the feed advertises (rel="hub")
    topic: str | None = None  # the feed's own URL for the hub (rel="self")


@dataclass(frozen=True)
class Page:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Fingerprint:
    """What the dedup stage compares: body hash, MinHash signature and its LSH bands."""

    content_hash: str
    minhash: tuple[int, ...]
    bands: tuple[str, ...]
    shingle_count: int


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
    top_image: str | None = None
    text_source: str = "trafilatura"  # which extractor produced the text (see extract)
    # Set by the dedup stage:
    fingerprint: Fingerprint | None = None
    cluster_id: str = ""  # id of the first article of its story cluster ("" = not clustered)
    duplicate_of: str | None = None  # the indexed article this one copies
    original_source: str | None = None  # outlet the page credits as the original


# Not frozen: tagging makes ~100 of these per article, and a frozen dataclass's
# __init__ (object.__setattr__ per field) costs 1.9 us against 0.5 with slots.
@dataclass(slots=True)
class Mention:
    """One matched alias or phrase: `field` is "title" or "text"; offsets index that field."""

    term: str  # the text as written
    ref: str  # entity id, or "phrase:<phrase>"
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Tag:
    topic: str
    score: float
    evidence: list[Mention]
    window: str | None = None  # the sentence/paragraph/words where the rule's terms met
    via: str | None = None  # for a parent topic: the child topic that implied it


@dataclass(frozen=True)
class EntityHit:
    id: str
    name: str
    type: str  # person | organisation | place
    mentions: int


@dataclass(frozen=True)
class TaggedArticle:
    article: Article
    tags: list[Tag]
    fetched_at: datetime
    entities: list[EntityHit] = field(default_factory=list)
    # The title's and text's analysed forms (pipeline.analysis), computed with the tags
    # in the extraction workers; None: not computed yet.
    title_stems: str | None = None
    text_stems: str | None = None


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
    retryable: int = 0  # of the failed pages, those worth retrying (timeouts, 5xx, ...)
    indexed: int = 0
    near_duplicate: int = 0  # indexed into an existing story cluster
    poll: str = "fetched"  # fetched | not_modified (HTTP 304) | unchanged (same body) | failed
    retry_after: float | None = None  # seconds, when the server said when to come back
    failures: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    """An ingest run: each feed's result, and the alerts raised on what it indexed."""

    feeds: list[FeedResult]
    alerts: int = 0  # alert events created right after indexing
    alerts_delivered: int = 0
    failures: list[str] = field(default_factory=list)  # of the run, not of one feed

    COUNTERS = ("entries", "new", "duplicate", "extracted", "failed", "indexed", "near_duplicate")

    def totals(self) -> dict[str, int]:
        totals = {
            "feeds_ok": sum(1 for f in self.feeds if f.ok),
            "feeds_failed": sum(1 for f in self.feeds if not f.ok),
        }
        for name in self.COUNTERS:
            totals[name] = sum(getattr(f, name) for f in self.feeds)
        totals["alerts"], totals["alerts_delivered"] = self.alerts, self.alerts_delivered
        for poll in ("not_modified", "unchanged"):  # conditional GET's savings
            totals[f"feeds_{poll}"] = sum(1 for f in self.feeds if f.poll == poll)
        return totals

    def to_json(self) -> dict[str, Any]:
        return {
            "totals": self.totals(),
            "feeds": [asdict(f) for f in self.feeds],
            "failures": self.failures,
        }


@dataclass(frozen=True)
class Delivery:
    """How one channel took an alert event."""

    status: str  # delivered | failed
    at: str
    error: str | None = None


@dataclass(frozen=True)
class AlertEvent:
    """One (rule, story cluster) -- or (spike rule, window) -- to deliver. Created once
    (its id is derived from the pair), then updated as channels take it."""

    id: str
    rule_id: str
    cluster_id: str  # the story cluster, or "spike:<window start>"
    kind: str  # story | spike
    title: str
    url: str | None
    matched_terms: list[str]
    matched_at: datetime
    next_attempt_at: datetime
    article_id: str | None = None
    site: str | None = None
    published_at: str | None = None
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    last_error: str | None = None
    delivered_at: datetime | None = None

    @staticmethod
    def make_id(rule_id: str, story: str) -> str:
        return hashlib.sha256(f"{rule_id}\x1f{story}".encode()).hexdigest()

    @classmethod
    def new(
        cls, rule_id: str, story: str, now: datetime, due: datetime, **fields: Any
    ) -> AlertEvent:
        """A pending event keyed by (rule, story), due for delivery at `due`."""
        return cls(
            id=cls.make_id(rule_id, story),
            rule_id=rule_id,
            cluster_id=story,
            matched_at=now,
            next_attempt_at=due,
            **fields,
        )

    def delivered_to(self, channel: str) -> bool:
        delivery = self.deliveries.get(channel)
        return delivery is not None and delivery.status == "delivered"
