"""Every matching article as CSV or JSON lines, streamed page by page."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.search.pages import Hit, SearchRequest, scan_hits

EXPORT_MAX = 10_000
COLUMNS = ["id", "published_at", "site", "title", "url", "topics", "cluster_id"]


def export_lines(
    es: Elasticsearch, settings: Settings, request: SearchRequest, limit: int, format: str
) -> Iterator[str]:
    """The export's lines. The first page is read before this returns, so that a bad
    query raises now (an HTTP 400), not in the middle of a stream."""
    scanned = scan_hits(es, settings, request, limit)
    first = next(scanned, None)
    hits = itertools.chain([first] if first else [], scanned)
    if format == "json":
        return (json.dumps(row(hit), ensure_ascii=False) + "\n" for hit in hits)
    return csv_lines(hits)


def row(hit: Hit) -> dict[str, Any]:
    return {column: getattr(hit, column) for column in COLUMNS}


def csv_lines(hits: Iterator[Hit]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for hit in hits:
        values = row(hit)
        values["topics"] = " ".join(values["topics"])
        writer.writerow([spreadsheet_safe(values[column]) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def spreadsheet_safe(value: Any) -> str:
    """A title from a feed must not become a spreadsheet formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
