"""Articles built in code for tests and benchmarks (id and canonical URL from the URL)."""

from __future__ import annotations

from datetime import datetime

from pipeline.models import Article
from pipeline.urls import article_id


def make_article(
    url: str,
    title: str,
    text: str,
    *,
    published_at: datetime | None = None,
    site: str = "s",
    language: str = "en",
) -> Article:
    return Article(
        id=article_id(url),
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        authors=[],
        published_at=published_at,
        language=language,
        site=site,
    )
