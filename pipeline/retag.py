"""Re-tag indexed articles in place after config/topics.yaml changes.

Reads title and text from the index (nothing is fetched again), recomputes
topics, tags with evidence and entities, and writes back only the documents
whose tags changed, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline import config, index
from pipeline.models import tag_fields
from pipeline.tagging import Tagger

TAG_FIELDS = ("topics", "tags", "entities", "people", "organisations", "places")
BATCH = 500


@dataclass
class RetagSummary:
    total: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def retag(
    es: Elasticsearch,
    settings: config.Settings,
    tagger: Tagger,
    progress: Callable[[RetagSummary, int], None] | None = None,
) -> RetagSummary:
    index.ensure_indices(es, settings)  # new tag fields must be in the mapping first
    articles = settings.index_name("articles")
    expected = es.count(index=articles)["count"]
    summary = RetagSummary()
    pending: list[dict[str, Any]] = []
    hits = helpers.scan(es, index=articles, size=BATCH, _source=["title", "text", *TAG_FIELDS])
    for hit in hits:
        summary.total += 1
        source = hit["_source"]
        result = tagger.analyze(source.get("title"), source.get("text") or "")
        fields = tag_fields(result.tags, result.entities)
        if all(source.get(name, []) == fields[name] for name in TAG_FIELDS):
            summary.unchanged += 1
        else:
            pending.append(
                {"_op_type": "update", "_index": articles, "_id": hit["_id"], "doc": fields}
            )
        if len(pending) >= BATCH:
            _flush(es, pending, summary)
        if progress and summary.total % BATCH == 0:
            progress(summary, expected)
    _flush(es, pending, summary)
    index.refresh(es, settings)
    if progress:
        progress(summary, expected)
    return summary


def _flush(es: Elasticsearch, actions: list[dict[str, Any]], summary: RetagSummary) -> None:
    if not actions:
        return
    for ok, info in helpers.streaming_bulk(es, actions, raise_on_error=False, max_retries=3):
        if ok:
            summary.updated += 1
        else:
            outcome = info["update"]
            summary.errors.append(f"{outcome.get('_id')}: {outcome.get('error')}")
    actions.clear()


def retag_all() -> dict[str, Any]:
    """Entry point for the news_retag DAG."""
    settings = config.load_settings()
    es = index.make_es_client(settings)
    try:
        index.check_reachable(es, settings)
        summary = retag(es, settings, Tagger(config.load_topics(settings)))
    finally:
        es.close()
    return asdict(summary)
