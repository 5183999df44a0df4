"""Extract stage: page HTML -> Article (body text and metadata) with trafilatura.

"No usable content" is a normal outcome and returns None, not an exception.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import py3langid
import trafilatura

from pipeline.models import Article, FeedEntry
from pipeline.urls import article_id, canonicalize_url

MIN_TEXT_CHARS = 40


def extract_article(html: bytes | str, url: str, entry: FeedEntry | None = None) -> Article | None:
    raw = trafilatura.extract(
        html,
        url=url,
        output_format="json",
        with_metadata=True,
        favor_precision=True,
        include_comments=False,
    )
    if not raw:
        return None
    data = json.loads(raw)
    text = (data.get("text") or "").strip()
    if len(text) < MIN_TEXT_CHARS:
        return None
    title = (data.get("title") or (entry.title if entry else "") or "").strip()
    # A feed's timestamp is usually more precise than the page's (often a bare date).
    published = (entry.published if entry else None) or _parse_date(data.get("date"))
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=canonicalize_url(url),
        title=title,
        text=text,
        authors=_authors(data.get("author")),
        published_at=published,
        language=data.get("language") or detect_language(f"{title}\n{text}"),
        site=data.get("source-hostname") or data.get("hostname") or urlsplit(url).hostname,
        feed_id=entry.feed_id if entry else None,
    )


def detect_language(text: str) -> str | None:
    """Offline language id (py3langid) on the first few thousand characters."""
    sample = text[:4000].strip()
    if not sample:
        return None
    language, _score = py3langid.classify(sample)
    return str(language)


def _authors(value: str | None) -> list[str]:
    if not value:
        return []
    return [name.strip() for name in value.split(";") if name.strip()]


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
