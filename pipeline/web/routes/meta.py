"""The UI's page and static files, and a health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from pipeline.web.deps import SettingsDep

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> FileResponse:
    return FileResponse(STATIC / "index.html")


@router.get("/api/health", tags=["meta"])
def health(settings: SettingsDep) -> dict[str, Any]:
    return {"ok": True, "auth": bool(settings.api_token)}
