"""news-alert-events: one document per (rule, story) -- or (spike rule, window) -- created
once (`create` op; a 409 means "already alerted"), then updated as it is delivered.

Delivery workers claim due events with optimistic concurrency (seq_no/primary_term):
a claim sets `claimed_until`, and the outcome is written only if nobody else changed
the event since the claim.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.config import Settings
from pipeline.errors import DeliveryError
from pipeline.models import AlertEvent, Delivery
from pipeline.store.indices import Index

_DATES = ("matched_at", "next_attempt_at", "delivered_at")


@dataclass(frozen=True)
class Version:
    """The event's version when it was read or claimed (optimistic concurrency)."""

    seq_no: int
    primary_term: int


@dataclass(frozen=True)
class Outcome:
    """An event's new state to write. With a version, only if the event is unchanged
    since (this worker's claim); `reschedule_only` writes just `next_attempt_at`."""

    event: AlertEvent
    version: Version | None = None
    reschedule_only: bool = False


def _name(settings: Settings) -> str:
    return settings.index_name(Index.ALERT_EVENTS)


def to_document(event: AlertEvent) -> dict[str, Any]:
    """The stored document; unset optional fields are left out."""
    doc: dict[str, Any] = {
        "rule_id": event.rule_id,
        "cluster_id": event.cluster_id,
        "kind": event.kind,
        "title": event.title,
        "url": event.url,
        "matched_terms": event.matched_terms,
        **{k: v for k in ("article_id", "site", "published_at") if (v := getattr(event, k))},
    }
    return doc | {k: v for k, v in _state(event).items() if v is not None}


def _state(event: AlertEvent) -> dict[str, Any]:
    state: dict[str, Any] = {
        "matched_at": event.matched_at.isoformat(),
        "status": event.status,
        "attempts": event.attempts,
        "next_attempt_at": event.next_attempt_at.isoformat(),
        "deliveries": {
            channel: {k: v for k, v in vars(d).items() if v is not None}
            for channel, d in event.deliveries.items()
        },
        "last_error": event.last_error,
    }
    if event.delivered_at:
        state["delivered_at"] = event.delivered_at.isoformat()
    return state


def from_source(event_id: str, source: dict[str, Any]) -> AlertEvent:
    dates = {k: datetime.fromisoformat(source[k]) for k in _DATES if source.get(k)}
    return AlertEvent(
        id=event_id,
        rule_id=source["rule_id"],
        cluster_id=source.get("cluster_id", ""),
        kind=source.get("kind", "story"),
        title=source.get("title", ""),
        url=source.get("url"),
        matched_terms=list(source.get("matched_terms") or []),
        matched_at=dates["matched_at"],
        next_attempt_at=dates["next_attempt_at"],
        article_id=source.get("article_id"),
        site=source.get("site"),
        published_at=source.get("published_at"),
        status=source.get("status", "pending"),
        attempts=int(source.get("attempts", 0)),
        deliveries={
            channel: Delivery(d.get("status", ""), d.get("at", ""), d.get("error"))
            for channel, d in (source.get("deliveries") or {}).items()
        },
        last_error=source.get("last_error"),
        delivered_at=dates.get("delivered_at"),
    )


def create(es: Elasticsearch, settings: Settings, events: Iterable[AlertEvent]) -> int:
    """Write events create-only: one that exists already (409: this story or window has
    alerted) is skipped. Returns how many were created."""
    target = _name(settings)
    actions = (
        {"_op_type": "create", "_index": target, "_id": e.id, "_source": to_document(e)}
        for e in events
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


def due(
    es: Elasticsearch, settings: Settings, now: datetime, limit: int
) -> list[tuple[AlertEvent, Version]]:
    """Pending events due by `now` that no worker has claimed, oldest first."""
    response = es.search(
        index=_name(settings),
        size=limit,
        seq_no_primary_term=True,
        query={
            "bool": {
                "filter": [
                    {"term": {"status": "pending"}},
                    {"range": {"next_attempt_at": {"lte": now.isoformat()}}},
                ],
                "must_not": [{"range": {"claimed_until": {"gt": now.isoformat()}}}],
            }
        },
        sort=[{"matched_at": "asc"}],
    )
    return [
        (from_source(hit["_id"], hit["_source"]), Version(hit["_seq_no"], hit["_primary_term"]))
        for hit in response["hits"]["hits"]
    ]


def claim(
    es: Elasticsearch,
    settings: Settings,
    events: list[tuple[AlertEvent, Version]],
    until: datetime,
) -> dict[str, Version]:
    """Mark events as being delivered by this worker until `until`; an event another
    worker claimed first is left to it. Returns event id -> version of the claim."""
    if not events:
        return {}
    operations: list[dict[str, Any]] = []
    for event, version in events:
        operations += [
            {"update": {"_index": _name(settings), "_id": event.id, **_guard(version)}},
            {"doc": {"claimed_until": until.isoformat()}},
        ]
    claims = {}
    for item in es.bulk(operations=operations)["items"]:
        done = item["update"]
        if done.get("status") == 200:
            claims[done["_id"]] = Version(int(done["_seq_no"]), int(done["_primary_term"]))
    return claims


def record(es: Elasticsearch, settings: Settings, outcomes: list[Outcome]) -> list[str]:
    """Write outcomes in one bulk request (and refresh once); returns the errors."""
    if not outcomes:
        return []
    operations: list[dict[str, Any]] = []
    for outcome in outcomes:
        event = outcome.event
        action: dict[str, Any] = {"_index": _name(settings), "_id": event.id}
        if outcome.version:
            action.update(_guard(outcome.version))
        fields = (
            {"next_attempt_at": event.next_attempt_at.isoformat()}
            if outcome.reschedule_only
            else {**_state(event), "claimed_until": None}
        )
        operations += [{"update": action}, {"doc": fields}]
    response = es.bulk(operations=operations)
    es.indices.refresh(index=_name(settings))
    return [
        f"event {item['update']['_id']}: {item['update'].get('error')}"
        for item in response["items"]
        if item["update"].get("status", 500) >= 300
    ]


def _guard(version: Version) -> dict[str, int]:
    return {"if_seq_no": version.seq_no, "if_primary_term": version.primary_term}


def delivered_since(
    es: Elasticsearch, settings: Settings, rule_ids: list[str], since: datetime
) -> dict[str, int]:
    """Events delivered per rule since `since` (for throttles)."""
    counts = es.search(
        index=_name(settings),
        size=0,
        query={
            "bool": {
                "filter": [
                    {"terms": {"rule_id": rule_ids}},
                    {"range": {"delivered_at": {"gt": since.isoformat()}}},
                ]
            }
        },
        aggs={"rules": {"terms": {"field": "rule_id", "size": len(rule_ids)}}},
    )
    return {b["key"]: b["doc_count"] for b in counts["aggregations"]["rules"]["buckets"]}


def history(
    es: Elasticsearch,
    settings: Settings,
    status: str | None = None,
    rule_id: str | None = None,
    size: int = 50,
) -> list[dict[str, Any]]:
    """Events newest first, as stored (with `event_id`), for people and scripts."""
    filters: list[dict[str, Any]] = []
    if status:
        filters.append({"term": {"status": status}})
    if rule_id:
        filters.append({"term": {"rule_id": rule_id}})
    response = es.search(
        index=_name(settings),
        size=size,
        query={"bool": {"filter": filters}},
        sort=[{"matched_at": "desc"}],
    )
    return [{"event_id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]
