"""Ingest statistics for the downstream DAG (the alerts stage builds on this later)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline import config, index


def ingest_stats(asset_extras: list[dict[str, Any]], window_hours: int = 24) -> dict[str, Any]:
    """Totals carried by the triggering asset events, plus what the index holds now."""
    settings = config.load_settings()
    es = index.make_es_client(settings)
    try:
        index.check_reachable(es, settings)
        articles = settings.index_name("articles")
        since = (datetime.now(UTC) - timedelta(hours=window_hours)).isoformat()
        recent = es.count(index=articles, query={"range": {"fetched_at": {"gte": since}}})
        total = es.count(index=articles)
    finally:
        es.close()
    indexed = sum(int(extra.get("indexed", 0)) for extra in asset_extras)
    return {
        "events": len(asset_extras),
        "indexed_by_events": indexed,
        f"articles_last_{window_hours}h": recent["count"],
        "articles_total": total["count"],
    }
