"""The analyst's query language as Elasticsearch queries: bare words must all match,
AND/OR/NOT, "phrases", field:value, wildcards; plus keyword filters. Shared by search,
alert rules, saved searches and spike rules, so they all match the same articles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEARCH_FIELDS = ["title^3", "text"]


@dataclass(frozen=True)
class Filters:
    topics: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # site names or feed ids
    languages: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    since: str | None = None  # ISO date or date-time, inclusive
    until: str | None = None  # ISO date or date-time, inclusive


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """Keyword filters as Elasticsearch clauses."""
    clauses: list[dict[str, Any]] = []
    if filters.topics:
        clauses.append({"terms": {"topics": filters.topics}})
    if filters.sources:
        sources = filters.sources
        clauses.append(
            {"bool": {"should": [{"terms": {"site": sources}}, {"terms": {"feed_id": sources}}]}}
        )
    if filters.languages:
        clauses.append({"terms": {"language": filters.languages}})
    if filters.entities:
        clauses.append({"terms": {"entities": filters.entities}})
    if filters.since or filters.until:
        bounds = {"gte": filters.since, "lte": filters.until}
        clauses.append({"range": {"published_at": {k: v for k, v in bounds.items() if v}}})
    return clauses


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


def filtered_query(query: str, filters: Filters) -> dict[str, Any]:
    """The query (every article when empty) restricted by the filters."""
    text = build_query(query) if query.strip() else {"match_all": {}}
    return {"bool": {"must": [text], "filter": filter_clauses(filters)}}
