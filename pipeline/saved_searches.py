"""Saved searches: a named query with filters, kept in `news-saved-searches`, and
turned into an alert rule in one step."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline import config
from pipeline.alerts import add_rule
from pipeline.errors import NewsmonError
from pipeline.search import Filters


class NotFound(NewsmonError):
    pass


def slug(name: str) -> str:
    """'Kim & Putin, summit!' -> 'kim-putin-summit' (ids of searches and their rules)."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:60] or "search"


def save(
    es: Elasticsearch, settings: config.Settings, name: str, query: str, filters: Filters
) -> dict[str, Any]:
    if not name.strip():
        raise NewsmonError("a saved search needs a name")
    doc = {
        "name": name.strip(),
        "query": query,
        "filters": asdict(filters),
        "created_at": datetime.now(UTC).isoformat(),
    }
    search_id = slug(name)
    es.index(
        index=settings.index_name("saved-searches"), id=search_id, document=doc, refresh="wait_for"
    )
    return {"id": search_id, **doc}


def list_saved(es: Elasticsearch, settings: config.Settings) -> list[dict[str, Any]]:
    response = es.search(
        index=settings.index_name("saved-searches"), size=500, sort=[{"created_at": "desc"}]
    )
    return [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def get(es: Elasticsearch, settings: config.Settings, search_id: str) -> dict[str, Any]:
    found = es.options(ignore_status=404).get(
        index=settings.index_name("saved-searches"), id=search_id
    )
    if not found.get("found"):
        raise NotFound(f"no saved search {search_id!r}")
    return {"id": search_id, **found["_source"]}


def delete(es: Elasticsearch, settings: config.Settings, search_id: str) -> None:
    response = es.options(ignore_status=404).delete(
        index=settings.index_name("saved-searches"), id=search_id, refresh="wait_for"
    )
    if response.get("result") != "deleted":
        raise NotFound(f"no saved search {search_id!r}")


def to_alert_rule(
    es: Elasticsearch,
    settings: config.Settings,
    search_id: str,
    channels: list[str],
    mode: str = "instant",
) -> dict[str, Any]:
    """Append an alert rule with the saved search's query and filters to alerts.yaml
    (validated like the file itself, query checked by Elasticsearch)."""
    saved = get(es, settings, search_id)
    filters = saved.get("filters") or {}
    rule: dict[str, Any] = {"id": search_id, "query": saved["query"] or "*"}
    for key in ("topics", "sources", "languages", "entities"):
        if filters.get(key):
            rule[key] = filters[key]
    rule["channels"] = channels
    if mode != "instant":
        rule["mode"] = mode
    parsed = add_rule(settings, rule, es)
    es.update(
        index=settings.index_name("saved-searches"),
        id=search_id,
        doc={"alert_rule": parsed.id},
        refresh="wait_for",
    )
    return rule
