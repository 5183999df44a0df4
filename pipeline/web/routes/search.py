"""Search, one article, and exports."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from pipeline.search.export import EXPORT_MAX, export_lines
from pipeline.search.pages import get_article, search_page
from pipeline.web.deps import EsDep, SearchRequestDep, SettingsDep, authorized
from pipeline.web.errors import answers

router = APIRouter(
    prefix="/api",
    tags=["search"],
    dependencies=[Depends(authorized)],
    responses=answers(400, 401, 502, 503),
)


@router.get("/search")
def api_search(request: SearchRequestDep, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    """Analyst-syntax search with filters, facets, a timeline and paging: `offset`
    for one hit per story (at most 1,000 deep), `after` (cursor from `next_after`)
    with collapse=false."""
    return asdict(search_page(es, settings, request))


@router.get("/articles/{article_id}", responses=answers(404))
def api_article(article_id: str, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    article = get_article(es, settings, article_id)
    if article is None:
        raise HTTPException(404, f"no article {article_id!r}")
    return article


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "a file download: CSV with a header row, or JSON lines",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
def api_export(
    request: SearchRequestDep,
    es: EsDep,
    settings: SettingsDep,
    format: Literal["csv", "json"] = "csv",
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX)] = EXPORT_MAX,
) -> StreamingResponse:
    """Every matching article (all copies), up to 10,000, as CSV or JSON lines."""
    lines = export_lines(es, settings, request, limit, format)
    if format == "json":
        return _download(lines, "application/x-ndjson", "newsmon-export.jsonl")
    return _download(lines, "text/csv; charset=utf-8", "newsmon-export.csv")


def _download(lines: Any, media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
