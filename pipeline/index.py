"""Index stage: Elasticsearch client, index setup from config/elasticsearch/*.json, bulk writes.

Each kind of index (`articles`, `feeds`) is a versioned index (`news-articles-v1`)
behind an alias (`news-articles`), so a mapping change can be rolled out by
reindexing into `-v2` and moving the alias. Articles are written with the `create`
op and `_id` = hash of the canonical URL: a 409 conflict simply means "already
indexed", which makes reruns idempotent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, helpers
from elasticsearch import ConnectionError as EsConnectionError

from pipeline.config import MAPPINGS_DIR, Settings
from pipeline.errors import DeliveryError, NewsmonError
from pipeline.models import FeedResult, TaggedArticle

logger = logging.getLogger(__name__)

INDEX_KINDS = ("articles", "feeds", "alert-rules", "alert-events", "saved-searches")
MAPPING_VERSION = 1


def make_es_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=30,
        retry_on_timeout=True,
        max_retries=3,
    )


def check_reachable(es: Elasticsearch, settings: Settings) -> None:
    """Fail early with a message that says what to do when the cluster is not there."""
    try:
        es.cluster.health(timeout="5s")
    except EsConnectionError:
        hint = (
            "start one with `newsmon es start`"
            if settings.uses_local_elasticsearch
            else "check NEWSMON_ES_URL"
        )
        raise NewsmonError(
            f"Elasticsearch is not reachable at {settings.elasticsearch_url}: {hint}"
        ) from None


def load_mapping(kind: str) -> dict[str, Any]:
    return dict(json.loads((MAPPINGS_DIR / f"{kind}.json").read_text(encoding="utf-8")))


def ensure_indices(es: Elasticsearch, settings: Settings) -> list[str]:
    """Create missing indices and aliases; add new fields to existing ones. Returns created."""
    created = []
    for kind in INDEX_KINDS:
        alias = settings.index_name(kind)
        body = load_mapping(kind)
        if es.indices.exists_alias(name=alias):
            es.indices.put_mapping(index=alias, **body["mappings"])
            continue
        concrete = f"{alias}-v{MAPPING_VERSION}"
        try:
            es.indices.create(
                index=concrete,
                settings=body["settings"],
                mappings=body["mappings"],
                aliases={alias: {"is_write_index": True}},
            )
            created.append(concrete)
        except BadRequestError as exc:
            # Parallel tasks may race to create the same index; losing the race is fine.
            if exc.error != "resource_already_exists_exception":
                raise
    return created


def existing_ids(es: Elasticsearch, settings: Settings, ids: list[str]) -> set[str]:
    """Which of `ids` are already indexed, in one round trip."""
    if not ids:
        return set()
    response = es.mget(index=settings.index_name("articles"), ids=ids, source=False)
    return {doc["_id"] for doc in response["docs"] if doc.get("found")}


@dataclass
class BulkResult:
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def index_articles(
    es: Elasticsearch, settings: Settings, articles: Iterable[TaggedArticle]
) -> BulkResult:
    index = settings.index_name("articles")
    actions = (
        {
            "_op_type": "create",
            "_index": index,
            "_id": item.article.id,
            "_source": item.to_document(),
        }
        for item in articles
    )
    result = BulkResult()
    for ok, info in helpers.streaming_bulk(
        es, actions, raise_on_error=False, chunk_size=200, max_retries=3
    ):
        outcome = info["create"]
        if ok:
            result.created += 1
        elif outcome.get("status") == 409:
            result.duplicates += 1
        else:
            result.errors.append(f"{outcome.get('_id')}: {outcome.get('error')}")
    return result


def record_feed_result(
    es: Elasticsearch,
    settings: Settings,
    result: FeedResult,
    url: str,
    name: str,
    state: dict[str, Any] | None = None,
) -> None:
    """Upsert the feed's health document in `news-feeds` (id = feed id): the last poll's
    outcome plus its polling state (validators, failures, interval, next poll)."""
    now = datetime.now(UTC).isoformat()
    doc: dict[str, Any] = {
        **(state or {}),
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
    try:
        es.update(
            index=settings.index_name("feeds"), id=result.feed_id, doc=doc, doc_as_upsert=True
        )
    except (ApiError, EsConnectionError) as exc:
        # Health bookkeeping must never fail an ingest that otherwise worked.
        logger.warning("could not record health of feed %s: %s", result.feed_id, exc)


def refresh(es: Elasticsearch, settings: Settings) -> None:
    es.indices.refresh(index=settings.index_name("articles"))


def create_events(es: Elasticsearch, settings: Settings, events: Iterable[dict[str, Any]]) -> int:
    """Write alert events create-only (`_id` in each): an event that exists already (409:
    this story or window has alerted) is skipped. Returns how many were created."""
    target = settings.index_name("alert-events")
    actions = (
        {"_op_type": "create", "_index": target, "_id": e.pop("_id"), "_source": e} for e in events
    )
    created = 0
    for ok, info in helpers.streaming_bulk(es, actions, raise_on_error=False, max_retries=3):
        if ok:
            created += 1
        elif info["create"].get("status") != 409:
            raise DeliveryError(f"cannot record alert event: {info['create'].get('error')}")
    if created:
        es.indices.refresh(index=target)
    return created
