"""Topics and entities, with how many articles carry each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pipeline.config import load_topics
from pipeline.store import articles
from pipeline.web.deps import EsDep, SettingsDep, authorized
from pipeline.web.errors import answers

router = APIRouter(
    prefix="/api",
    tags=["taxonomy"],
    dependencies=[Depends(authorized)],
    responses=answers(401, 502, 503),
)


@router.get("/topics")
def api_topics(es: EsDep, settings: SettingsDep) -> list[dict[str, Any]]:
    counts = articles.value_counts(es, settings, "topics")
    return [
        {"id": t.id, "name": t.name, "parent": t.parent, "articles": counts.get(t.id, 0)}
        for t in load_topics(settings).topics
    ]


@router.get("/entities")
def api_entities(es: EsDep, settings: SettingsDep) -> list[dict[str, Any]]:
    counts = articles.value_counts(es, settings, "entities")
    return [
        {"id": e.id, "name": e.name, "type": e.type, "articles": counts.get(e.id, 0)}
        for e in load_topics(settings).entities.values()
    ]
