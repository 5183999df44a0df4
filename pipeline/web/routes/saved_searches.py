"""Saved searches, and turning one into an alert rule."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from pipeline.alerts.rules import add_from_saved_search
from pipeline.search.query import Filters
from pipeline.store import saved_searches
from pipeline.web.deps import EsDep, SettingsDep, authorized
from pipeline.web.errors import answers

router = APIRouter(
    prefix="/api/saved-searches",
    tags=["saved searches"],
    dependencies=[Depends(authorized)],
    responses=answers(400, 401, 502, 503),
)


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


@router.get("")
def api_saved(es: EsDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return saved_searches.list_saved(es, settings)


@router.post("")
def api_save(body: SavedSearchIn, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    filters = Filters(
        body.topics, body.sources, body.languages, body.entities, body.since, body.until
    )
    return saved_searches.save(es, settings, body.name, body.query, asdict(filters))


@router.delete("/{search_id}", responses=answers(404))
def api_unsave(search_id: str, es: EsDep, settings: SettingsDep) -> dict[str, Any]:
    saved_searches.delete(es, settings, search_id)
    return {"deleted": search_id}


@router.post("/{search_id}/alert", responses=answers(404))
def api_alert_from_search(
    search_id: str, body: AlertFromSearch, es: EsDep, settings: SettingsDep
) -> dict[str, Any]:
    """Turn the saved search into an alert rule (appended to alerts.yaml)."""
    return add_from_saved_search(es, settings, search_id, body.channels, body.mode)
