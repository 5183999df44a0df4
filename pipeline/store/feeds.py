"""news-feeds: one document per feed (id = feed id) with its polling state (HTTP
validators, body hash, failures, adaptive interval, next poll), the last poll's outcome
(health) and its WebSub subscription.

Polls write the polling fields and WebSub writes its own (websub_*), so a poll
finishing late never undoes a hub's verification.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers
from elasticsearch import ConnectionError as EsConnectionError

from pipeline.config import Settings
from pipeline.models import FeedResult
from pipeline.store.indices import Index

logger = logging.getLogger(__name__)
MAX_FEEDS = 1000  # the feeds listing (API) shows at most this many


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
    expected_gap_minutes: float | None = None  # typical gap between the feed's items
    not_modified: int = 0  # 304 answers
    unchanged: int = 0  # 200 answers with the same body as last time
    # WebSub subscription (pipeline/ingest/websub.py)
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

    def polling_doc(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("websub_")}

    def websub_doc(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k.startswith("websub_")}


def _name(settings: Settings) -> str:
    return settings.index_name(Index.FEEDS)


def load_docs(es: Elasticsearch, settings: Settings, feed_ids: list[str]) -> dict[str, dict]:
    """The stored document of each feed, in one round trip ({} for a feed never polled)."""
    if not feed_ids:
        return {}
    docs = es.mget(index=_name(settings), ids=feed_ids)["docs"]
    return {doc["_id"]: dict(doc.get("_source") or {}) for doc in docs}


def load_states(es: Elasticsearch, settings: Settings, feed_ids: list[str]) -> dict[str, FeedState]:
    """Every feed's state in one round trip (a feed never polled gets a blank one)."""
    docs = load_docs(es, settings, feed_ids)
    return {feed_id: FeedState.from_doc(feed_id, doc) for feed_id, doc in docs.items()}


def list_docs(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    """Every stored feed document, by feed id."""
    response = es.search(index=_name(settings), size=MAX_FEEDS, sort=[{"feed_id": "asc"}])
    return [hit["_source"] for hit in response["hits"]["hits"]]


def record_results(
    es: Elasticsearch,
    settings: Settings,
    records: list[tuple[FeedResult, str, str, FeedState | None]],
) -> None:
    """Upsert each feed's document (result, url, name, polling state) in one bulk request:
    the last poll's outcome plus its polling state."""
    if not records:
        return
    now = datetime.now(UTC).isoformat()
    actions = [
        {
            "_op_type": "update",
            "_index": _name(settings),
            "_id": result.feed_id,
            "doc": _health(result, url, name, state, now),
            "doc_as_upsert": True,
        }
        for result, url, name, state in records
    ]
    try:
        _, errors = helpers.bulk(es, actions, raise_on_error=False, max_retries=3)
    except (ApiError, EsConnectionError) as exc:
        errors = [{"update": {"error": str(exc)}}]
    for error in errors if isinstance(errors, list) else []:
        # Health bookkeeping must never fail an ingest that otherwise worked.
        logger.warning("could not record feed health: %s", error)


def _health(
    result: FeedResult, url: str, name: str, state: FeedState | None, now: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        **(state.polling_doc() if state else {}),
        "last_poll": result.poll,
        "feed_id": result.feed_id,
        "url": url,
        "name": name,
        "last_attempt": now,
        "last_status": "ok" if result.ok else "failed",
        "last_error": result.error,
        "entries": result.entries,
        "new": result.new,
        "indexed": result.indexed,
    }
    if result.ok:
        doc["last_success"] = now
    return doc


def save_websub(es: Elasticsearch, settings: Settings, state: FeedState) -> None:
    """Write the WebSub fields only (searchable at once: the hub may call back now)."""
    es.update(
        index=_name(settings),
        id=state.feed_id,
        doc={"feed_id": state.feed_id, **state.websub_doc()},
        doc_as_upsert=True,
        refresh="wait_for",
    )
