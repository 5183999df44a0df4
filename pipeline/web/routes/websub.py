"""WebSub callbacks. Hubs cannot send the API token; the topic check (GET) and the HMAC
signature with the subscription's secret (POST) protect these instead."""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from pipeline.config import FeedConfig, Settings, load_feeds
from pipeline.ingest import websub
from pipeline.store.feeds import load_states, save_websub
from pipeline.web.deps import EsDep, SettingsDep

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/websub", include_in_schema=False)


def _configured_feed(settings: Settings, feed_id: str) -> FeedConfig:
    for feed in load_feeds(settings):
        if feed.id == feed_id:
            return feed
    raise HTTPException(404, f"no feed {feed_id!r}")


@router.get("/{feed_id}")
def websub_verify(
    feed_id: str, request: Request, es: EsDep, settings: SettingsDep
) -> PlainTextResponse:
    _configured_feed(settings, feed_id)
    state = load_states(es, settings, [feed_id])[feed_id]
    challenge = websub.verify(state, dict(request.query_params))
    if challenge is None:
        raise HTTPException(404, "no such subscription")
    save_websub(es, settings, state)
    return PlainTextResponse(challenge)


@router.post("/{feed_id}")
async def websub_push(
    feed_id: str, request: Request, background: BackgroundTasks, es: EsDep, settings: SettingsDep
) -> Response:
    body = await request.body()
    if len(body) > settings.max_feed_bytes:
        raise HTTPException(413, "pushed body too large")
    feed = await run_in_threadpool(_configured_feed, settings, feed_id)
    states = await run_in_threadpool(load_states, es, settings, [feed_id])
    if not websub.signature_ok(states[feed_id], body, request.headers.get("X-Hub-Signature")):
        raise HTTPException(403, "bad or missing X-Hub-Signature")
    background.add_task(_ingest_push, settings, feed, body, request.headers.get("content-type"))
    return Response(status_code=202)


def _ingest_push(
    settings: Settings, feed: FeedConfig, body: bytes, content_type: str | None
) -> None:
    from pipeline.ingest.engine import IngestContext, ingest_pushed  # the heavy part

    # A push brings a few entries: they are extracted in this process (no workers forked
    # from a web server).
    ctx = IngestContext.open(settings, setup_indices=False, processes=0)
    try:
        result = ingest_pushed(ctx, feed, body, content_type)
    finally:
        ctx.close()
    logger.info("WebSub push for %s: %s", feed.id, result)
