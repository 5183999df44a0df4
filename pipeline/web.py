"""The analysts' HTTP API and web UI (`newsmon serve`; also mounted in Airflow's UI by
plugins/newsmon_plugin.py).

Everything shown comes from feeds and pages, so it is untrusted: the UI builds the
page with textContent, and the only HTML it inserts are highlight fragments, which
Elasticsearch escapes before adding <em> tags (search.py). All paths in the UI are
relative, so the app works at / and under Airflow's /newsmon/ prefix alike.
"""

from __future__ import annotations

import csv
import hmac
import io
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from pipeline import alerts, config, index, saved_searches, websub
from pipeline.errors import ConfigError, NewsmonError, SearchSyntaxError
from pipeline.feed_state import load_states
from pipeline.search import (
    MAX_PAGE_SIZE,
    Filters,
    SearchRequest,
    get_article,
    scan_hits,
    search_page,
)

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
EXPORT_MAX = 10_000
TOKEN_HEADER = "X-Newsmon-Token"


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(default="", max_length=2000)
    topics: list[str] = []
    sources: list[str] = []
    languages: list[str] = []
    entities: list[str] = []
    since: str | None = None
    until: str | None = None


class AlertFromSearch(BaseModel):
    channels: list[str] = Field(min_length=1)
    mode: Literal["instant", "hourly", "daily"] = "instant"


def create_app(settings: config.Settings | None = None) -> FastAPI:
    settings = settings or config.load_settings()
    es = index.make_es_client(settings)
    app = FastAPI(
        title="newsmon",
        description="Search the monitored news: articles, topics, entities, feeds, alerts.",
        version="0.1.0",
    )
    app.state.settings = settings
    app.state.es = es

    def authorized(request: Request) -> None:
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

    guarded = [Depends(authorized)]

    @app.exception_handler(SearchSyntaxError)
    def _syntax(request: Request, exc: SearchSyntaxError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(ConfigError)
    def _config(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(saved_searches.NotFound)
    def _missing(request: Request, exc: saved_searches.NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(NewsmonError)
    def _newsmon(request: Request, exc: NewsmonError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(ValidationError)
    def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return JSONResponse({"detail": f"{where}: {error['msg']}"}, status_code=400)

    @app.exception_handler(EsConnectionError)
    def _es_down(request: Request, exc: EsConnectionError) -> JSONResponse:
        return JSONResponse(
            {"detail": f"Elasticsearch is not reachable at {settings.elasticsearch_url}"},
            status_code=503,
        )

    @app.exception_handler(ApiError)
    def _es_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": f"Elasticsearch: {exc.message}"}, status_code=502)

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        return {"ok": True, "auth": bool(settings.api_token)}

    @app.get("/api/search", tags=["search"], dependencies=guarded)
    def api_search(request: Annotated[SearchRequest, Depends(_search_request)]) -> dict[str, Any]:
        """Analyst-syntax search with filters, facets, a timeline and paging: `offset`
        for one hit per story (at most 1,000 deep), `after` (cursor from `next_after`)
        with collapse=false."""
        return asdict(search_page(es, settings, request))

    @app.get("/api/articles/{article_id}", tags=["search"], dependencies=guarded)
    def api_article(article_id: str) -> dict[str, Any]:
        article = get_article(es, settings, article_id)
        if article is None:
            raise HTTPException(404, f"no article {article_id!r}")
        return article

    @app.get("/api/topics", tags=["taxonomy"], dependencies=guarded)
    def api_topics() -> list[dict[str, Any]]:
        counts = _counts(es, settings, "topics")
        return [
            {"id": t.id, "name": t.name, "parent": t.parent, "articles": counts.get(t.id, 0)}
            for t in config.load_topics(settings).topics
        ]

    @app.get("/api/entities", tags=["taxonomy"], dependencies=guarded)
    def api_entities() -> list[dict[str, Any]]:
        counts = _counts(es, settings, "entities")
        entities = config.load_topics(settings).entities.values()
        return [
            {"id": e.id, "name": e.name, "type": e.type, "articles": counts.get(e.id, 0)}
            for e in entities
        ]

    @app.get("/api/feeds", tags=["operations"], dependencies=guarded)
    def api_feeds() -> list[dict[str, Any]]:
        response = es.search(
            index=settings.index_name("feeds"), size=1000, sort=[{"feed_id": "asc"}]
        )
        return [hit["_source"] for hit in response["hits"]["hits"]]

    @app.get("/api/alerts/rules", tags=["alerts"], dependencies=guarded)
    def api_rules() -> dict[str, Any]:
        loaded = config.load_alerts(settings)
        return {
            "rules": [rule.model_dump() for rule in loaded.rules],
            "spikes": [spike.model_dump() for spike in loaded.spikes],
            "channels": sorted(loaded.channels),
        }

    @app.get("/api/alerts/events", tags=["alerts"], dependencies=guarded)
    def api_events(
        status: Literal["pending", "delivered", "failed"] | None = None,
        rule: str | None = None,
        size: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        return alerts.history(es, settings, status=status, rule_id=rule, size=size)

    @app.get("/api/saved-searches", tags=["saved searches"], dependencies=guarded)
    def api_saved() -> list[dict[str, Any]]:
        return saved_searches.list_saved(es, settings)

    @app.post("/api/saved-searches", tags=["saved searches"], dependencies=guarded)
    def api_save(body: SavedSearchIn) -> dict[str, Any]:
        filters = Filters(
            body.topics, body.sources, body.languages, body.entities, body.since, body.until
        )
        return saved_searches.save(es, settings, body.name, body.query, filters)

    @app.delete("/api/saved-searches/{search_id}", tags=["saved searches"], dependencies=guarded)
    def api_unsave(search_id: str) -> dict[str, Any]:
        saved_searches.delete(es, settings, search_id)
        return {"deleted": search_id}

    @app.post(
        "/api/saved-searches/{search_id}/alert", tags=["saved searches"], dependencies=guarded
    )
    def api_alert_from_search(search_id: str, body: AlertFromSearch) -> dict[str, Any]:
        """Turn the saved search into an alert rule (appended to alerts.yaml)."""
        return saved_searches.to_alert_rule(es, settings, search_id, body.channels, body.mode)

    # WebSub callbacks: hubs cannot send the API token; the topic check (GET) and the
    # HMAC signature with the subscription's secret (POST) protect these instead.
    def configured_feed(feed_id: str) -> config.FeedConfig:
        for feed in config.load_feeds(settings):
            if feed.id == feed_id:
                return feed
        raise HTTPException(404, f"no feed {feed_id!r}")

    @app.get("/websub/{feed_id}", include_in_schema=False)
    def websub_verify(feed_id: str, request: Request) -> PlainTextResponse:
        configured_feed(feed_id)
        state = load_states(es, settings, [feed_id])[feed_id]
        challenge = websub.verify(state, dict(request.query_params))
        if challenge is None:
            raise HTTPException(404, "no such subscription")
        websub.save(es, settings, state)
        return PlainTextResponse(challenge)

    @app.post("/websub/{feed_id}", include_in_schema=False)
    async def websub_push(feed_id: str, request: Request, background: BackgroundTasks) -> Response:
        body = await request.body()
        if len(body) > settings.max_feed_bytes:
            raise HTTPException(413, "pushed body too large")
        feed = await run_in_threadpool(configured_feed, feed_id)
        states = await run_in_threadpool(load_states, es, settings, [feed_id])
        if not websub.signature_ok(states[feed_id], body, request.headers.get("X-Hub-Signature")):
            raise HTTPException(403, "bad or missing X-Hub-Signature")
        background.add_task(_ingest_push, settings, feed, body, request.headers.get("content-type"))
        return Response(status_code=202)

    @app.get("/api/export", tags=["search"], dependencies=guarded)
    def api_export(
        request: Annotated[SearchRequest, Depends(_search_request)],
        format: Literal["csv", "json"] = "csv",
        limit: Annotated[int, Query(ge=1, le=EXPORT_MAX)] = EXPORT_MAX,
    ) -> StreamingResponse:
        """Every matching article (all copies), up to 10,000, as CSV or JSON lines."""
        # The first page is read now, so that a bad query answers 400, not a broken stream.
        scanned = scan_hits(es, settings, request, limit)
        first = next(scanned, None)
        hits = itertools.chain([first] if first else [], scanned)
        if format == "json":
            lines = (json.dumps(_export_row(hit), ensure_ascii=False) + "\n" for hit in hits)
            return _download(lines, "application/x-ndjson", "newsmon-export.jsonl")
        return _download(_csv_lines(hits), "text/csv; charset=utf-8", "newsmon-export.csv")

    return app


def _ingest_push(
    settings: config.Settings, feed: config.FeedConfig, body: bytes, content_type: str | None
) -> None:
    from pipeline.ingest import IngestContext, ingest_pushed

    ctx = IngestContext.open(settings, setup_indices=False)
    try:
        result = ingest_pushed(ctx, feed, body, content_type)
    finally:
        ctx.close()
    logger.info("WebSub push for %s: %s", feed.id, result)


def _search_request(
    q: Annotated[str, Query(max_length=2000)] = "",
    topic: Annotated[list[str] | None, Query()] = None,
    source: Annotated[list[str] | None, Query()] = None,
    language: Annotated[list[str] | None, Query()] = None,
    entity: Annotated[list[str] | None, Query()] = None,
    since: str | None = None,
    until: str | None = None,
    sort: Literal["relevance", "newest", "oldest"] = "relevance",
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    after: str | None = None,
    collapse: bool = True,
    facets: bool = True,
    timeline: bool = False,
) -> SearchRequest:
    filters = Filters(topic or [], source or [], language or [], entity or [], since, until)
    return SearchRequest(
        q, filters, sort, size, offset, after, collapse, facets=facets, timeline=timeline
    )


def _counts(es: Elasticsearch, settings: config.Settings, field: str) -> dict[str, int]:
    response = es.search(
        index=settings.index_name("articles"),
        size=0,
        aggs={"values": {"terms": {"field": field, "size": 5000}}},
    )
    return {b["key"]: b["doc_count"] for b in response["aggregations"]["values"]["buckets"]}


EXPORT_COLUMNS = ["id", "published_at", "site", "title", "url", "topics", "cluster_id"]


def _export_row(hit: Any) -> dict[str, Any]:
    return {column: getattr(hit, column) for column in EXPORT_COLUMNS}


def _csv_lines(hits: Iterator[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for hit in hits:
        row = _export_row(hit)
        row["topics"] = " ".join(row["topics"])
        writer.writerow([_spreadsheet_safe(row[column]) for column in EXPORT_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _spreadsheet_safe(value: Any) -> str:
    """A title from a feed must not become a spreadsheet formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _download(lines: Iterator[str], media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
