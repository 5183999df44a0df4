"""news-articles: one document per article, `_id` = hash of its canonical URL.

Articles are written with the `create` op: a 409 conflict simply means "already
indexed", which makes reruns idempotent. Queries are built elsewhere (search/,
alerts/) and run here.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline import analysis
from pipeline.config import Settings
from pipeline.models import Article, EntityHit, Fingerprint, Tag, TaggedArticle
from pipeline.store.indices import Index, current_version

# Fields only dedup and matching need; never sent back to search results.
FINGERPRINT_FIELDS = ["minhash", "lsh_bands"]
STEM_FIELDS = ["title_stems", "text_stems"]
ANALYSED_FIELDS_SINCE = 3  # the articles mapping with today's analysed fields


def document(item: TaggedArticle) -> dict[str, Any]:
    """The Elasticsearch document (see config/elasticsearch/articles.json). Built field
    by field: dataclasses.asdict copies the 120-value signature element by element,
    which cost more than the rest of indexing."""
    article, fp = item.article, item.article.fingerprint
    doc = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    doc["authors"] = list(article.authors)
    doc["content_hash"] = fp.content_hash if fp else None
    doc["minhash"] = list(fp.minhash) if fp else []
    doc.update(lookup_fields(article.id, fp.minhash if fp else ()))
    doc["lsh_bands"] = list(fp.bands) if fp else []
    doc["shingle_count"] = fp.shingle_count if fp else 0
    doc["published_at"] = _iso(article.published_at)
    doc["fetched_at"] = _iso(item.fetched_at)
    doc.update(tag_fields(item.tags, item.entities))
    doc["cluster_id"] = article.cluster_id or article.id
    if item.title_stems is None or item.text_stems is None:  # not from the workers
        doc.update(analysis.stem_fields(article.title, article.text, article.language))
    else:
        doc.update(title_stems=item.title_stems, text_stems=item.text_stems)
    return doc


def lookup_fields(article_id: str, minhash: Sequence[int]) -> dict[str, Any]:
    """The id and the MinHash again, in doc values: the near-duplicate lookup reads its
    hits from there, as reading them from `_source` (the whole article parsed for each
    hit) cost Elasticsearch more than the search itself."""
    signature = base64.b64encode(struct.pack(f"<{len(minhash)}I", *minhash)).decode()
    return {"article_id": article_id, "signature": signature}


_ARTICLE_FIELDS = [f.name for f in fields(Article) if f.name not in ("id", "fingerprint")]


def hit(item: TaggedArticle) -> dict[str, Any]:
    """The article as a search hit (`_id`, `_source`), as alert matching reads them."""
    return {"_id": item.article.id, "_source": document(item)}


def tag_fields(tags: list[Tag], entities: list[EntityHit]) -> dict[str, Any]:
    """The document fields written by the tagging stage (also used by retagging)."""
    by_type: dict[str, list[str]] = {"person": [], "organisation": [], "place": []}
    for entity in entities:
        by_type[entity.type].append(entity.name)
    return {
        "topics": [tag.topic for tag in tags],
        "tags": [asdict(tag) for tag in tags],
        "entities": [entity.id for entity in entities],
        "people": by_type["person"],
        "organisations": by_type["organisation"],
        "places": by_type["place"],
    }


TAG_FIELDS = ("topics", "tags", "entities", "people", "organisations", "places")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _name(settings: Settings) -> str:
    return settings.index_name(Index.ARTICLES)


def existing_ids(es: Elasticsearch, settings: Settings, ids: list[str]) -> set[str]:
    """Which of `ids` are already indexed, in one round trip."""
    if not ids:
        return set()
    response = es.mget(index=_name(settings), ids=ids, source=False)
    return {doc["_id"] for doc in response["docs"] if doc.get("found")}


@dataclass
class BulkResult:
    created_ids: set[str] = field(default_factory=set)
    duplicate_ids: set[str] = field(default_factory=set)  # indexed before (409)
    errors: dict[str, str] = field(default_factory=dict)  # id -> why it was not indexed


def create(es: Elasticsearch, settings: Settings, hits: Iterable[dict[str, Any]]) -> BulkResult:
    """Index new articles (as `hit`s) create-only: one already there is a duplicate."""
    actions = ({"_op_type": "create", "_index": _name(settings), **each} for each in hits)
    result = BulkResult()
    for ok, info in helpers.streaming_bulk(
        es, actions, raise_on_error=False, chunk_size=200, max_retries=3
    ):
        outcome = info["create"]
        if ok:
            result.created_ids.add(outcome["_id"])
        elif outcome.get("status") == 409:
            result.duplicate_ids.add(outcome["_id"])
        else:
            result.errors[str(outcome.get("_id"))] = str(outcome.get("error"))
    return result


def refresh(es: Elasticsearch, settings: Settings) -> None:
    es.indices.refresh(index=_name(settings))


def search(es: Elasticsearch, settings: Settings, **body: Any) -> dict[str, Any]:
    return dict(es.search(index=_name(settings), **body))


def search_with_aggregations(
    es: Elasticsearch, settings: Settings, body: dict[str, Any], aggs: dict[str, Any]
) -> dict[str, Any]:
    """A search and aggregations over its matches, sent as two requests side by side:
    Elasticsearch works on both at once, and the aggregations (over every match) need
    no scores, which cost more than the aggregations themselves on a large result.
    The total comes from the aggregations' request, exact."""
    with ThreadPoolExecutor(1) as pool:
        counted = pool.submit(
            search, es, settings, query=body["query"], size=0, aggs=aggs, track_total_hits=True
        )
        response = search(es, settings, **body)
        aggregated = counted.result()
    response["aggregations"] = aggregated["aggregations"]
    response["hits"]["total"] = aggregated["hits"]["total"]
    return response


def msearch(es: Elasticsearch, settings: Settings, bodies: list[dict[str, Any]]) -> list[Any]:
    """Several searches in one round trip; a failed one comes back with an `error`."""
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches += [{"index": _name(settings)}, body]
    return list(es.msearch(searches=searches)["responses"])


def scan(
    es: Elasticsearch, settings: Settings, query: dict[str, Any], fields: list[str], size: int = 500
) -> Iterator[dict[str, Any]]:
    """Every matching hit, in pages of `size`."""
    yield from helpers.scan(es, index=_name(settings), query=query, _source=fields, size=size)


def get(es: Elasticsearch, settings: Settings, article_id: str) -> dict[str, Any] | None:
    """The article's document (without fingerprint fields), or None."""
    found = es.options(ignore_status=404).get(
        index=_name(settings), id=article_id, source_excludes=FINGERPRINT_FIELDS + STEM_FIELDS
    )
    return dict(found["_source"]) if found.get("found") else None


def count(es: Elasticsearch, settings: Settings, query: dict[str, Any] | None = None) -> int:
    """Articles matching `query`; 0 before the first ingest created the index."""
    found = es.count(index=_name(settings), query=query, ignore_unavailable=True)
    return int(found["count"])


def value_counts(es: Elasticsearch, settings: Settings, field: str) -> dict[str, int]:
    """Articles per value of a keyword field (topics, entities, ...)."""
    response = search(
        es, settings, size=0, aggs={"values": {"terms": {"field": field, "size": 5000}}}
    )
    return {b["key"]: b["doc_count"] for b in response["aggregations"]["values"]["buckets"]}


_FACTS_TTL = 300.0
_facts: dict[tuple[str, str], tuple[float, Any]] = {}


def _remembered(settings: Settings, name: str, find: Callable[[], Any]) -> Any:
    """A fact about the index, looked up at most every five minutes."""
    key = (_name(settings), name)
    now = time.monotonic()
    cached = _facts.get(key)
    if cached and now - cached[0] < _FACTS_TTL:
        return cached[1]
    value = find()
    _facts[key] = (now, value)
    return value


def latin_languages(es: Elasticsearch, settings: Settings) -> tuple[str, ...]:
    """The Latin-script languages the index holds articles in (with Snowball stems): a
    query word is stemmed for these only, as every language's stem would make
    searches slower for nothing."""

    def find() -> tuple[str, ...]:
        found = sorted(value_counts(es, settings, "language"))
        codes = tuple(c for c in found if c in analysis.LATIN_STEMMERS)
        return codes or (analysis.DEFAULT_LATIN,)

    return tuple(_remembered(settings, "latin_languages", find))


def has_analysed_fields(es: Elasticsearch, settings: Settings) -> bool:
    """False while the alias still points at an index from before the analysed fields:
    until `newsmon reindex` has copied them, its articles have none, and searches must
    match exact forms as well."""

    def find() -> bool:
        version = current_version(es, settings, Index.ARTICLES)
        return version is None or version >= ANALYSED_FIELDS_SINCE

    return bool(_remembered(settings, "analysed_fields", find))


def validate_query(es: Elasticsearch, settings: Settings, query: dict[str, Any]) -> str | None:
    """None when Elasticsearch accepts the query, else its short reason."""
    result = es.indices.validate_query(index=_name(settings), query=query, explain=True)
    if result.get("valid"):
        return None
    explanations = result.get("explanations") or [{}]
    error = explanations[0].get("error") or result.get("error") or "invalid query"
    return short_error(str(error))


def short_error(error: str) -> str:
    # "[index/uuid] QueryShardException[Failed to parse query [x]]; nested: ParseException[...]"
    nested = error.split("nested: ")
    return nested[1].rstrip("; ") if len(nested) > 1 else error[:300]


def update_fields(
    es: Elasticsearch, settings: Settings, updates: list[tuple[str, dict[str, Any]]]
) -> tuple[int, list[str]]:
    """Partial updates (id, fields); returns (updated, errors)."""
    actions = (
        {"_op_type": "update", "_index": _name(settings), "_id": article_id, "doc": doc}
        for article_id, doc in updates
    )
    updated, errors = 0, []
    for ok, info in helpers.streaming_bulk(es, actions, raise_on_error=False, max_retries=3):
        if ok:
            updated += 1
        else:
            outcome = info["update"]
            errors.append(f"{outcome.get('_id')}: {outcome.get('error')}")
    return updated, errors


@dataclass(frozen=True)
class Similar:
    """An indexed article that may be a near-duplicate: its id, story and fingerprint."""

    id: str
    cluster_id: str
    fingerprint: Fingerprint


def similar(
    es: Elasticsearch, settings: Settings, articles: list[tuple[str, Fingerprint]], limit: int
) -> list[list[Similar]]:
    """For each (id, fingerprint): up to `limit` other articles sharing an LSH band or the
    body hash, in one round trip (two while the index holds articles from before the
    lookup fields, until `newsmon reindex` has rewritten them)."""
    results = _lookup(es, settings, articles, limit, LOOKUP_FROM_DOC_VALUES)
    older = [n for n, hits in enumerate(results) if hits is None]
    again = _lookup(es, settings, [articles[n] for n in older], limit, LOOKUP_FROM_SOURCE)
    for n, hits in zip(older, again, strict=True):
        results[n] = hits
    return [[_similar(hit) for hit in hits or []] for hits in results]


LOOKUP_FROM_DOC_VALUES = {
    "_source": False,
    "stored_fields": "_none_",
    "docvalue_fields": ["article_id", "cluster_id", "content_hash", "shingle_count", "signature"],
}
LOOKUP_FROM_SOURCE = {"_source": ["cluster_id", "content_hash", "minhash", "shingle_count"]}


def _lookup(
    es: Elasticsearch,
    settings: Settings,
    articles: list[tuple[str, Fingerprint]],
    limit: int,
    read: dict[str, Any],
) -> list[list[dict[str, Any]] | None]:
    """Each article's candidate hits; None where a hit lacks the lookup fields."""
    if not articles:
        return []
    bodies = [
        {
            "size": limit,
            "track_total_hits": False,  # no count needed: the search may stop early
            "query": {
                "bool": {
                    "should": [
                        {"terms": {"lsh_bands": list(fp.bands)}},
                        {"term": {"content_hash": fp.content_hash}},
                    ],
                    "must_not": [{"ids": {"values": [article_id]}}],
                }
            },
            **read,
        }
        for article_id, fp in articles
    ]
    results: list[list[dict[str, Any]] | None] = []
    for item in msearch(es, settings, bodies):
        hits = item.get("hits", {}).get("hits", []) if "error" not in item else []
        if read is LOOKUP_FROM_SOURCE:
            results.append([h for h in hits if h["_source"].get("minhash")])
        elif all("article_id" in h.get("fields", {}) for h in hits):
            results.append([h for h in hits if h["fields"].get("signature", [""])[0]])
        else:
            results.append(None)
    return results


def _similar(raw: dict[str, Any]) -> Similar:
    if "_source" in raw:  # an article from before the lookup fields
        source = raw["_source"]
        article_id, minhash = raw["_id"], tuple(source["minhash"])
    else:
        source = {name: values[0] for name, values in raw["fields"].items()}
        packed = base64.b64decode(source["signature"])
        article_id, minhash = source["article_id"], struct.unpack(f"<{len(packed) // 4}I", packed)
    fp = Fingerprint(
        content_hash=source.get("content_hash", ""),
        minhash=minhash,
        bands=(),  # not needed to compare with an indexed article
        shingle_count=int(source.get("shingle_count", 0)),
    )
    return Similar(article_id, source.get("cluster_id") or article_id, fp)
