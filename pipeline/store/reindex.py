"""`newsmon reindex`: move news-articles to the current mapping version.

Elasticsearch's reindex module is not in every distribution (not in the local one),
and the new fields are computed in Python anyway, so documents are copied here: the
old index is read in batches, each document's analysed fields are computed again and
it is written to `news-articles-v<N>` under the same id. Searches keep using the old
index through the alias during the copy. Then writes to the old index are blocked,
what ingest wrote meanwhile is copied too, and the alias moves to the new index in
one atomic step (ingest writes refused in those seconds are retried at the feed's
next poll). Every write is an overwrite by id, so an interrupted run is simply run
again. The old index is kept, blocked, until you delete it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline import analysis
from pipeline.config import Settings
from pipeline.store import articles
from pipeline.store.indices import (
    Index,
    behind_alias,
    ensure_indices,
    load_mapping,
    mapping_version,
    versioned_name,
)

BATCH = 500
# Articles are written a few seconds after they are fetched; an hour is a wide margin
# for what ingest wrote to the old index while the copy ran.
CATCH_UP_MARGIN = timedelta(hours=1)


@dataclass
class ReindexSummary:
    alias: str
    source: str | None
    target: str
    copied: int = 0
    caught_up: int = 0
    errors: int = 0
    swapped: bool = False


def reindex_articles(
    es: Elasticsearch,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
) -> ReindexSummary:
    alias = settings.index_name(Index.ARTICLES)
    target = versioned_name(alias, mapping_version(Index.ARTICLES))
    source = behind_alias(es, alias)
    summary = ReindexSummary(alias, source, target)
    if source is None or source == target:
        ensure_indices(es, settings)  # nothing to move: a new install, or done already
        return summary
    if not es.indices.exists(index=target):
        body = load_mapping(Index.ARTICLES)
        es.indices.create(index=target, settings=body["settings"], mappings=body["mappings"])
    started = datetime.now(UTC)
    total = int(es.count(index=source)["count"])
    summary.copied = _copy(es, source, target, {"match_all": {}}, summary, progress, total)
    es.indices.put_settings(index=source, settings={"index.blocks.write": True})
    es.indices.refresh(index=source)
    since = (started - CATCH_UP_MARGIN).isoformat()
    recent = {"range": {"fetched_at": {"gte": since}}}
    summary.caught_up = _copy(es, source, target, recent, summary, None, 0)
    es.indices.refresh(index=target)
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": alias}},
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
        ]
    )
    summary.swapped = True
    return summary


def _copy(
    es: Elasticsearch,
    source: str,
    target: str,
    query: dict[str, Any],
    summary: ReindexSummary,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> int:
    copied = 0
    actions = (
        {"_op_type": "index", "_index": target, "_id": hit["_id"], "_source": _analysed(hit)}
        for hit in helpers.scan(es, index=source, query={"query": query}, size=BATCH)
    )
    for ok, _item in helpers.streaming_bulk(
        es, actions, chunk_size=BATCH, raise_on_error=False, max_retries=3
    ):
        copied += 1
        summary.errors += not ok
        if progress and copied % BATCH == 0:
            progress(copied, total)
    if progress:
        progress(copied, total)
    return copied


def _analysed(hit: dict[str, Any]) -> dict[str, Any]:
    doc = dict(hit["_source"])
    doc.update(
        analysis.stem_fields(doc.get("title") or "", doc.get("text") or "", doc.get("language"))
    )
    doc.update(articles.lookup_fields(hit["_id"], doc.get("minhash") or []))
    return doc
