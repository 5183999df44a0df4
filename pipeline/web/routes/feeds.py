"""Feed health, as the polls recorded it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pipeline.store import feeds
from pipeline.web.deps import EsDep, SettingsDep, authorized

router = APIRouter(prefix="/api", tags=["operations"], dependencies=[Depends(authorized)])


@router.get("/feeds")
def api_feeds(es: EsDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return feeds.list_docs(es, settings)
