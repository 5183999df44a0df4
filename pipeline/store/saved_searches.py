"""news-saved-searches: analysts' named searches (id = slug of the name)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.errors import NewsmonError, NotFound
from pipeline.store.indices import Index

MAX_LISTED = 500


def slug(name: str) -> str:
    """'Kim & Putin, summit!' -> 'kim-putin-summit' (ids of searches and their rules)."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "search"


def _name(settings: Settings) -> str:
    return settings.index_name(Index.SAVED_SEARCHES)


def save(
    es: Elasticsearch, settings: Settings, name: str, query: str, filters: dict[str, Any]
) -> dict[str, Any]:
    if not name.strip():
        raise NewsmonError("a saved search needs a name")
    doc = {
        "name": name.strip(),
        "query": query,
        "filters": filters,
        "created_at": datetime.now(UTC).isoformat(),
    }
    search_id = slug(name)
    es.index(index=_name(settings), id=search_id, document=doc, refresh="wait_for")
    return {"id": search_id, **doc}


def list_saved(es: Elasticsearch, settings: Settings) -> list[dict[str, Any]]:
    response = es.search(index=_name(settings), size=MAX_LISTED, sort=[{"created_at": "desc"}])
    return [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def get(es: Elasticsearch, settings: Settings, search_id: str) -> dict[str, Any]:
    found = es.options(ignore_status=404).get(index=_name(settings), id=search_id)
    if not found.get("found"):
        raise NotFound(f"no saved search {search_id!r}")
    return {"id": search_id, **found["_source"]}


def delete(es: Elasticsearch, settings: Settings, search_id: str) -> None:
    response = es.options(ignore_status=404).delete(
        index=_name(settings), id=search_id, refresh="wait_for"
    )
    if response.get("result") != "deleted":
        raise NotFound(f"no saved search {search_id!r}")


def link_alert_rule(es: Elasticsearch, settings: Settings, search_id: str, rule_id: str) -> None:
    es.update(index=_name(settings), id=search_id, doc={"alert_rule": rule_id}, refresh="wait_for")
