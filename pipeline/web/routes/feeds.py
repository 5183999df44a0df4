"""Feed health, as the polls recorded it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pipeline.store import feeds
from pipeline.web.deps import EsDep, SettingsDep, authorized
from pipeline.web.errors import answers

router = APIRouter(
    prefix="/api",
    tags=["operations"],
    dependencies=[Depends(authorized)],
    responses=answers(401, 502, 503),
)


@router.get("/feeds")
def api_feeds(es: EsDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return feeds.list_docs(es, settings)
