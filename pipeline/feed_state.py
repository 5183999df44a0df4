"""Per-feed polling state, kept in the feed's document in `news-feeds`: HTTP validators
and a body hash (conditional GET), failures in a row, the adaptive poll interval and
the next poll time.

Interval. Feeds that bring new items are polled more often, quiet ones less often:
each poll multiplies the interval by FASTER (something new) or SLOWER (nothing new),
within the configured bounds. Failing feeds back off exponentially (with jitter) from
their base interval up to the maximum; they are never dropped.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline import config
from pipeline.models import FeedResult

FASTER = 0.75
SLOWER = 1.25
RATE_WEIGHT = 0.3  # weight of the latest poll in the moving average of new items


@dataclass
class FeedState:
    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    interval_minutes: float | None = None
    next_poll_at: str | None = None
    polls: int = 0
    items_seen: int = 0
    new_item_rate: float = 0.0  # new items per poll, moving average
    not_modified: int = 0  # 304 answers
    unchanged: int = 0  # 200 answers with the same body as last time
    # WebSub subscription (pipeline/websub.py)
    websub_hub: str | None = None
    websub_topic: str | None = None
    websub_secret: str | None = None
    websub_state: str | None = None  # pending | active | failed
    websub_lease_until: str | None = None
    websub_error: str | None = None

    @classmethod
    def from_doc(cls, feed_id: str, doc: dict[str, Any] | None) -> FeedState:
        known = {f.name for f in fields(cls)}
        return cls(
            **{k: v for k, v in (doc or {}).items() if k in known and k != "feed_id"},
            feed_id=feed_id,
        )

    def to_doc(self) -> dict[str, Any]:
        """The polling fields; the WebSub ones are written by websub.py alone, so that a
        poll finishing late never undoes a hub's verification."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("websub_")}

    def websub_doc(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k.startswith("websub_")}


def load_states(
    es: Elasticsearch, settings: config.Settings, feed_ids: list[str]
) -> dict[str, FeedState]:
    """Every feed's state in one round trip (a feed never polled gets a blank one)."""
    if not feed_ids:
        return {}
    docs = es.mget(index=settings.index_name("feeds"), ids=feed_ids)["docs"]
    return {
        doc["_id"]: FeedState.from_doc(doc["_id"], doc.get("_source") if doc.get("found") else None)
        for doc in docs
    }


def is_due(state: FeedState, now: datetime) -> bool:
    return state.next_poll_at is None or datetime.fromisoformat(state.next_poll_at) <= now


def base_interval(feed: config.FeedConfig, settings: config.Settings) -> float:
    return float(feed.interval or settings.ingest_interval_minutes)


def after_poll(
    state: FeedState,
    result: FeedResult,
    feed: config.FeedConfig,
    settings: config.Settings,
    now: datetime,
    rng: random.Random | None = None,
) -> FeedState:
    """The feed's next state, given what this poll did (result.poll says how it went)."""
    rng = rng or random.Random()
    low, high = settings.feed_min_interval_minutes, settings.feed_max_interval_minutes
    base = min(max(base_interval(feed, settings), low), high)
    state.polls += 1
    if not result.ok:
        state.consecutive_failures += 1
        backoff = min(high, base * 2 ** (state.consecutive_failures - 1))
        wait = backoff * rng.uniform(0.8, 1.2)  # jitter: failing feeds do not retry in step
        if result.retry_after:  # the server said when: never earlier than that
            wait = max(wait, result.retry_after / 60)
        state.next_poll_at = (now + timedelta(minutes=wait)).isoformat()
        return state
    state.consecutive_failures = 0
    state.items_seen += result.entries
    state.not_modified += result.poll == "not_modified"
    state.unchanged += result.poll == "unchanged"
    state.new_item_rate = round(
        (1 - RATE_WEIGHT) * state.new_item_rate + RATE_WEIGHT * result.new, 3
    )
    interval = (state.interval_minutes or base) * (FASTER if result.new else SLOWER)
    state.interval_minutes = round(min(max(interval, low), high), 2)
    state.next_poll_at = (now + timedelta(minutes=state.interval_minutes)).isoformat()
    return state
