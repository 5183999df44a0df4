"""Search: the analyst's query syntax (AND/OR/NOT, "phrases", field:value) over articles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.config import Settings
from pipeline.errors import SearchSyntaxError

SEARCH_FIELDS = ["title^3", "text"]
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    url: str
    site: str | None
    published_at: str | None
    topics: list[str]
    evidence: dict[str, list[str]]  # topic -> the terms that produced the tag
    highlights: list[str]
    cluster_id: str
    copies: int  # articles in the story cluster (1 = no other copy)
    copy_urls: list[str]


def build_query(query: str) -> dict[str, Any]:
    """Bare words must all match (AND); OR and NOT work as the analyst writes them."""
    return {
        "query_string": {
            "query": query,
            "fields": SEARCH_FIELDS,
            "default_operator": "AND",
            "analyze_wildcard": True,
        }
    }


def search(
    es: Elasticsearch, settings: Settings, query: str, size: int = 10, collapse: bool = True
) -> list[Hit]:
    """Ranked hits; by default one hit per story cluster (its best-matching copy)."""
    if not query.strip():
        raise SearchSyntaxError("empty query")
    size = max(1, min(size, MAX_PAGE_SIZE))
    try:
        response = es.search(
            index=settings.index_name("articles"),
            query=build_query(query),
            size=size,
            source_excludes=["text", "minhash", "lsh_bands", "tags.window"],
            collapse=_COLLAPSE if collapse else None,
            highlight={
                "pre_tags": ["<em>"],
                "post_tags": ["</em>"],
                "fields": {
                    "title": {"number_of_fragments": 0},
                    "text": {"fragment_size": 160, "number_of_fragments": 3},
                },
            },
        )
    except BadRequestError as exc:
        raise SearchSyntaxError(f"cannot parse query {query!r}: {_reason(exc)}") from None
    return [_hit(raw) for raw in response["hits"]["hits"]]


_COLLAPSE = {
    "field": "cluster_id",
    "inner_hits": {
        "name": "copies",
        "size": 5,
        "_source": ["url"],
        "sort": [{"published_at": "asc"}],
    },
}


def _hit(raw: dict[str, Any]) -> Hit:
    source = raw["_source"]
    highlight = raw.get("highlight", {})
    copies = raw.get("inner_hits", {}).get("copies", {}).get("hits", {})
    return Hit(
        id=raw["_id"],
        score=float(raw.get("_score") or 0.0),
        title=source.get("title", ""),
        url=source.get("url", ""),
        site=source.get("site"),
        published_at=source.get("published_at"),
        topics=source.get("topics", []),
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


def _reason(exc: BadRequestError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {})
    causes = error.get("root_cause") or [error]
    reason = causes[0].get("reason") if causes and isinstance(causes[0], dict) else None
    caused_by = error.get("caused_by", {}) if isinstance(error, dict) else {}
    return str(caused_by.get("reason") or reason or exc.message)
