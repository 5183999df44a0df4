"""What routes depend on: the app's settings and Elasticsearch client, the API token
check, and a search request read from query parameters."""

from __future__ import annotations

import hmac
from datetime import date, datetime
from typing import Annotated

from elasticsearch import Elasticsearch
from fastapi import Depends, HTTPException, Query, Request

from pipeline.config import Settings
from pipeline.search.pages import MAX_OFFSET, MAX_PAGE_SIZE, SearchRequest, Sort
from pipeline.search.query import Filters

TOKEN_HEADER = "X-Newsmon-Token"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_es(request: Request) -> Elasticsearch:
    es: Elasticsearch = request.app.state.es
    return es


SettingsDep = Annotated[Settings, Depends(get_settings)]
EsDep = Annotated[Elasticsearch, Depends(get_es)]


def authorized(request: Request, settings: SettingsDep) -> None:
    """With an API token set, every API call must carry it (header or bearer)."""
    token = settings.api_token
    if not token:
        return
    given = request.headers.get(TOKEN_HEADER) or ""
    bearer = request.headers.get("Authorization", "")
    if bearer.lower().startswith("bearer "):
        given = given or bearer[7:]
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "missing or wrong API token", {"WWW-Authenticate": "Bearer"})


def search_request(
    q: Annotated[str, Query(max_length=2000)] = "",
    topic: Annotated[list[str] | None, Query()] = None,
    source: Annotated[list[str] | None, Query()] = None,
    language: Annotated[list[str] | None, Query()] = None,
    entity: Annotated[list[str] | None, Query()] = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    sort: Sort = "relevance",
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, lt=MAX_OFFSET)] = 0,
    after: str | None = None,
    collapse: bool = True,
    facets: bool = True,
    timeline: bool = False,
) -> SearchRequest:
    # A date stays a date: Elasticsearch reads `until: 2026-11-28` as the whole day.
    bounds = [value.isoformat() if value else None for value in (since, until)]
    filters = Filters(topic or [], source or [], language or [], entity or [], *bounds)
    return SearchRequest(
        q, filters, sort, size, offset, after, collapse, facets=facets, timeline=timeline
    )


SearchRequestDep = Annotated[SearchRequest, Depends(search_request)]
