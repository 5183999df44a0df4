"""Re-tag indexed articles in place after config/topics.yaml changes.

Reads title and text from the index (nothing is fetched again), recomputes
topics, tags with evidence and entities, and writes back only the documents
whose tags changed, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.ingest.tag import Tagger
from pipeline.store import articles, ensure_indices
from pipeline.store.articles import TAG_FIELDS, tag_fields

BATCH = 500


@dataclass
class RetagSummary:
    total: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def retag(
    es: Elasticsearch,
    settings: Settings,
    tagger: Tagger,
    progress: Callable[[RetagSummary, int], None] | None = None,
) -> RetagSummary:
    ensure_indices(es, settings)  # new tag fields must be in the mapping first
    expected = articles.count(es, settings)
    summary = RetagSummary()
    pending: list[tuple[str, dict[str, Any]]] = []
    query: dict[str, Any] = {"query": {"match_all": {}}}
    for hit in articles.scan(es, settings, query, ["title", "text", *TAG_FIELDS], size=BATCH):
        summary.total += 1
        source = hit["_source"]
        result = tagger.analyze(source.get("title"), source.get("text") or "")
        fields = tag_fields(result.tags, result.entities)
        if all(source.get(name, []) == fields[name] for name in TAG_FIELDS):
            summary.unchanged += 1
        else:
            pending.append((hit["_id"], fields))
        if len(pending) >= BATCH:
            _flush(es, settings, pending, summary)
        if progress and summary.total % BATCH == 0:
            progress(summary, expected)
    _flush(es, settings, pending, summary)
    articles.refresh(es, settings)
    if progress:
        progress(summary, expected)
    return summary


def _flush(
    es: Elasticsearch,
    settings: Settings,
    pending: list[tuple[str, dict[str, Any]]],
    summary: RetagSummary,
) -> None:
    if not pending:
        return
    updated, errors = articles.update_fields(es, settings, pending)
    summary.updated += updated
    summary.errors += errors
    pending.clear()
