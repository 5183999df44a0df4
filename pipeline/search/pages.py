"""A page of search results: ranking, one hit per story, facets, a timeline, paging.

Paging. One hit per story (collapse on cluster_id) pages by offset, bounded by
MAX_OFFSET: Elasticsearch cannot combine collapse with search_after unless sorting
on the collapse field. Every copy (collapse off) pages with search_after, as deep as
needed; exports use that too.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.config import Settings
from pipeline.errors import SearchSyntaxError
from pipeline.search.names import Names, names_for
from pipeline.search.query import (
    EXACT_BOOST,
    Filters,
    exact_query,
    filtered_query,
    highlight_query,
)
from pipeline.store import articles, error_reason

MAX_PAGE_SIZE = 100
MAX_OFFSET = 1_000  # deepest collapsed page; use search_after (all copies) beyond
FACET_FIELDS = {"topics": 30, "site": 20, "language": 10, "entities": 30}
TIMELINE_TOPICS = 6
RESCORE_WINDOW = 100  # the top hits re-ranked so that exact word forms come first
Sort = Literal["relevance", "newest", "oldest"]
_SORTS: dict[str, list[dict[str, Any]]] = {
    # `url` is unique per article: a stable tie-break for search_after.
    "relevance": [{"_score": "desc"}, {"published_at": "desc"}, {"url": "asc"}],
    "newest": [{"published_at": {"order": "desc", "missing": "_last"}}, {"url": "asc"}],
    "oldest": [{"published_at": {"order": "asc", "missing": "_last"}}, {"url": "asc"}],
}


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""  # empty: every article (browse by filters)
    filters: Filters = field(default_factory=Filters)
    sort: Sort = "relevance"
    size: int = 20
    offset: int = 0  # collapsed results page by offset ...
    after: str | None = None  # ... every-copy results by search_after cursor
    collapse: bool = True  # one hit per story cluster
    facets: bool = False
    timeline: bool = False
    highlight: bool = True


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    url: str
    site: str | None
    source: str  # the site's or feed's name, for reading (site stays the filter value)
    published_at: str | None
    language: str | None
    topics: list[str]
    topic_names: list[str]  # the topics' names, in the same order
    evidence: dict[str, list[str]]  # topic -> the terms that produced the tag
    highlights: list[str]  # HTML-escaped text with <em> around matches
    cluster_id: str
    copies: int  # articles in the story cluster (1 = no other copy)
    copy_urls: list[str]


@dataclass
class SearchPage:
    total: int
    total_is_exact: bool
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    timeline: dict[str, Any] | None = None
    next_offset: int | None = None
    next_after: str | None = None
    took_ms: int = 0


def search_page(es: Elasticsearch, settings: Settings, request: SearchRequest) -> SearchPage:
    size = max(1, min(request.size, MAX_PAGE_SIZE))
    if request.collapse:  # the last page before the limit is a shorter one
        size = min(size, MAX_OFFSET - request.offset)
    if request.collapse and size < 1:
        raise SearchSyntaxError(
            f"results past {MAX_OFFSET} are not paged one story at a time: narrow the search, "
            "or page every copy (collapse off), which has no depth limit"
        )
    ranked = request.sort == "relevance" and bool(request.query.strip())
    # One story per hit pages by offset, so exact forms can be ranked first by a rescore
    # of the top hits; search_after paging needs a sort, which rules a rescore out.
    rescore = ranked and request.collapse
    exact = (ranked and not rescore) or not articles.has_analysed_fields(es, settings)
    query = filtered_query(
        request.query, request.filters, articles.latin_languages(es, settings), exact
    )
    body: dict[str, Any] = {
        "query": query,
        "size": size,
        "track_total_hits": 10_000,
        "source_excludes": [
            "text",
            *articles.FINGERPRINT_FIELDS,
            *articles.STEM_FIELDS,
            "tags.window",
        ],
    }
    if rescore:
        body["rescore"] = {
            "window_size": RESCORE_WINDOW,
            "query": {
                "rescore_query": exact_query(request.query),
                "rescore_query_weight": EXACT_BOOST,
            },
        }
    else:
        body["sort"] = _SORTS[request.sort]
    if request.collapse:
        body.update(collapse=_COLLAPSE, from_=request.offset)
    elif request.after:
        body["search_after"] = _decode_cursor(request.after)
    if request.highlight and request.query.strip():
        body["highlight"] = {**_HIGHLIGHT, "highlight_query": highlight_query(request.query)}
    aggs = {}
    if request.facets:
        aggs.update(_facet_aggs())
    if request.timeline:
        aggs["timeline"] = _timeline_agg(request.filters)
    response = _search(es, settings, request.query, body, aggs)
    names = names_for(settings)
    raw_hits = response["hits"]["hits"]
    total = response["hits"]["total"]
    page = SearchPage(
        total=int(total["value"]),
        total_is_exact=total["relation"] == "eq",
        hits=[_hit(raw, names) for raw in raw_hits],
        took_ms=int(response.get("took", 0)),
    )
    if request.facets:
        page.facets = {
            name: [
                {"value": b["key"], "label": names.label(name, b["key"]), "count": b["doc_count"]}
                for b in response["aggregations"][name]["buckets"]
            ]
            for name in FACET_FIELDS
        }
    if request.timeline:
        page.timeline = _timeline(response["aggregations"]["timeline"], request.filters)
    if len(raw_hits) == size:
        if request.collapse:
            following = request.offset + size
            page.next_offset = following if following < min(page.total, MAX_OFFSET) else None
        else:
            page.next_after = _encode_cursor(raw_hits[-1]["sort"])
    return page


def search(
    es: Elasticsearch, settings: Settings, query: str, size: int = 10, collapse: bool = True
) -> list[Hit]:
    """Ranked hits for a query; by default one hit per story cluster."""
    if not query.strip():
        raise SearchSyntaxError("empty query")
    return search_page(es, settings, SearchRequest(query, size=size, collapse=collapse)).hits


def scan_hits(
    es: Elasticsearch, settings: Settings, request: SearchRequest, limit: int
) -> Iterator[Hit]:
    """Every matching article (all copies), in the request's order, up to `limit`:
    search_after pages, so memory stays flat however large the result set."""
    after = None
    sent = 0
    while sent < limit:
        size = min(MAX_PAGE_SIZE, limit - sent)
        page = search_page(
            es,
            settings,
            replace(
                request,
                size=size,
                after=after,
                collapse=False,
                highlight=False,
                facets=False,
                timeline=False,
            ),
        )
        yield from page.hits
        sent += len(page.hits)
        if page.next_after is None:
            return
        after = page.next_after


def _search(
    es: Elasticsearch,
    settings: Settings,
    query: str,
    body: dict[str, Any],
    aggs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        if aggs:
            return articles.search_with_aggregations(es, settings, body, aggs)
        return articles.search(es, settings, **body)
    except BadRequestError as exc:
        raise SearchSyntaxError(f"cannot parse query {query!r}: {error_reason(exc)}") from None


_COLLAPSE = {
    "field": "cluster_id",
    "inner_hits": {
        "name": "copies",
        "size": 5,
        "_source": ["url"],
        "sort": [{"published_at": "asc"}],
    },
}
# encoder html: the article text is escaped before <em> tags are added, so a fragment
# can be shown as HTML without letting a page's markup through.
_HIGHLIGHT = {
    "encoder": "html",
    "pre_tags": ["<em>"],
    "post_tags": ["</em>"],
    "fields": {
        "title": {"number_of_fragments": 0},
        "text": {"fragment_size": 160, "number_of_fragments": 3},
    },
}


def _facet_aggs() -> dict[str, Any]:
    return {name: {"terms": {"field": name, "size": size}} for name, size in FACET_FIELDS.items()}


def _timeline_interval(filters: Filters) -> str:
    """Hours for a range of three days or less, days otherwise."""
    if filters.since and filters.until:
        try:
            span = datetime.fromisoformat(filters.until) - datetime.fromisoformat(filters.since)
        except ValueError:
            return "day"
        if span <= timedelta(days=3):
            return "hour"
    return "day"


def _timeline_agg(filters: Filters) -> dict[str, Any]:
    return {
        "date_histogram": {
            "field": "published_at",
            "calendar_interval": _timeline_interval(filters),
            "min_doc_count": 1,
        },
        "aggs": {"topics": {"terms": {"field": "topics", "size": TIMELINE_TOPICS}}},
    }


def _timeline(agg: dict[str, Any], filters: Filters) -> dict[str, Any]:
    return {
        "interval": _timeline_interval(filters),
        "buckets": [
            {
                "start": bucket["key_as_string"],
                "count": bucket["doc_count"],
                "topics": {t["key"]: t["doc_count"] for t in bucket["topics"]["buckets"]},
            }
            for bucket in agg["buckets"]
        ],
    }


def _encode_cursor(sort_values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        raise SearchSyntaxError("invalid page cursor: start the search again") from None
    if not isinstance(values, list):
        raise SearchSyntaxError("invalid page cursor: start the search again")
    return values


def _hit(raw: dict[str, Any], names: Names) -> Hit:
    source = raw["_source"]
    highlight = raw.get("highlight", {})
    copies = raw.get("inner_hits", {}).get("copies", {}).get("hits", {})
    return Hit(
        id=raw["_id"],
        score=float(raw.get("_score") or 0.0),
        title=source.get("title", ""),
        url=source.get("url", ""),
        site=source.get("site"),
        source=names.source(source.get("site"), source.get("feed_id")),
        published_at=source.get("published_at"),
        language=source.get("language"),
        topics=source.get("topics", []),
        topic_names=[names.topic(topic) for topic in source.get("topics", [])],
        evidence={
            tag["topic"]: sorted({m["term"] for m in tag.get("evidence", [])}, key=str.lower)
            for tag in source.get("tags", [])
            if not tag.get("via")
        },
        highlights=highlight.get("title", []) + highlight.get("text", []),
        cluster_id=source.get("cluster_id") or raw["_id"],
        copies=int(copies.get("total", {}).get("value", 1)),
        copy_urls=[copy["_source"]["url"] for copy in copies.get("hits", [])],
    )


def get_article(es: Elasticsearch, settings: Settings, article_id: str) -> dict[str, Any] | None:
    """One article with its full text, tags and evidence, and the copies of its story."""
    source = articles.get(es, settings, article_id)
    if source is None:
        return None
    cluster = source.get("cluster_id") or article_id
    copies = articles.search(
        es,
        settings,
        query={"term": {"cluster_id": cluster}},
        size=50,
        sort=[{"published_at": {"order": "asc", "missing": "_last"}}],
        source_includes=["url", "title", "site", "feed_id", "published_at", "duplicate_of"],
    )["hits"]["hits"]
    names = names_for(settings)
    return {
        "id": article_id,
        **source,
        "source": names.source(source.get("site"), source.get("feed_id")),
        "entity_names": [names.entity(e) for e in source.get("entities", [])],
        "topic_names": {tag["topic"]: names.topic(tag["topic"]) for tag in source.get("tags", [])},
        "copies": [
            {
                "id": c["_id"],
                **c["_source"],
                "source": names.source(c["_source"].get("site"), c["_source"].get("feed_id")),
            }
            for c in copies
            if c["_id"] != article_id
        ],
    }
