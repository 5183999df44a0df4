"""Alert rules and their events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from pipeline.config import load_alerts
from pipeline.store import alert_events
from pipeline.web.deps import EsDep, SettingsDep, authorized
from pipeline.web.errors import answers

router = APIRouter(
    prefix="/api/alerts",
    tags=["alerts"],
    dependencies=[Depends(authorized)],
    responses=answers(400, 401, 502, 503),
)


@router.get("/rules")
def api_rules(settings: SettingsDep) -> dict[str, Any]:
    loaded = load_alerts(settings)
    return {
        "rules": [rule.model_dump() for rule in loaded.rules],
        "spikes": [spike.model_dump() for spike in loaded.spikes],
        "channels": sorted(loaded.channels),
    }


@router.get("/events")
def api_events(
    es: EsDep,
    settings: SettingsDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    rule: str | None = None,
    size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return alert_events.history(es, settings, status=status, rule_id=rule, size=size)
