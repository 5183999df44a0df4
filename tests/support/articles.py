"""Articles built in code for tests and benchmarks (id and canonical URL from the URL)."""

from __future__ import annotations

from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.models import Article, TaggedArticle
from pipeline.store import articles as article_store
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


def index_articles(
    es: Elasticsearch, settings: Settings, articles: list[Article]
) -> article_store.BulkResult:
    """Index articles built in code (no tags, fetched now) and make them searchable."""
    now = datetime.now(UTC)
    hits = [article_store.hit(TaggedArticle(article, [], now)) for article in articles]
    created = article_store.create(es, settings, hits)
    article_store.refresh(es, settings)
    return created
