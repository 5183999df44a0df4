"""Fetch stage: download an article page into a Page record."""

from __future__ import annotations

import httpx

from pipeline.config import Settings
from pipeline.ingest.download import fetch
from pipeline.ingest.politeness import gate_for
from pipeline.ingest.robots import check_allowed
from pipeline.models import FeedEntry, Page


def fetch_page(client: httpx.Client, entry: FeedEntry, settings: Settings) -> Page:
    if settings.respect_robots:
        check_allowed(client, entry.url, settings)
    response = fetch(
        client,
        entry.url,
        max_bytes=settings.max_page_bytes,
        allow_private=settings.allow_private_networks,
        deadline_seconds=settings.http_timeout * 3,
        gate=gate_for(settings),
    )
    return Page(
        url=entry.url,
        final_url=response.final_url,
        status=response.status,
        headers=response.headers,
        body=response.body,
    )
