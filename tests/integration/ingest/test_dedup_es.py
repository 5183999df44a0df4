"""Story clusters through the real Elasticsearch: in one batch, across batches, exact copies."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.ingest.dedup import assign_clusters
from pipeline.models import Article, TaggedArticle
from pipeline.store import articles as article_store
from pipeline.store import ensure_indices
from scripts.bench_dedup import fixture_stories
from tests.conftest import delete_indices
from tests.support.articles import make_article
from tests.support.dedup_variants import variants


@pytest.fixture
def own_settings(es: Elasticsearch, settings: Settings) -> Iterator[Settings]:
    """Indices of their own, so these articles do not show up in other tests' counts."""
    own = settings.model_copy(update={"index_prefix": settings.index_prefix + "dedup-"})
    yield own
    delete_indices(es, own.index_prefix)


def _article(url: str, text: str) -> Article:
    return make_article(url, "t", text, published_at=datetime(2026, 11, 20, tzinfo=UTC))


def _index(es: Elasticsearch, settings: Settings, articles: list[Article]) -> None:
    now = datetime.now(UTC)
    article_store.create(
        es, settings, [article_store.hit(TaggedArticle(a, [], now)) for a in articles]
    )
    article_store.refresh(es, settings)


def test_clusters_in_one_batch_and_across_batches(
    es: Elasticsearch, own_settings: Settings
) -> None:
    settings = own_settings
    ensure_indices(es, settings)
    story = fixture_stories()["fixture:putin-visit"]
    other = fixture_stories()["fixture:satellite-may"]
    copies = variants(story, seed=7)
    first_batch = assign_clusters(
        es,
        settings,
        [
            _article("https://a.example/putin", story),
            _article("https://b.example/copy", copies["edited"]),
            _article("https://c.example/satellite", other),
        ],
    )
    original, edited, unrelated = first_batch
    assert original.cluster_id == original.id and original.duplicate_of is None
    assert edited.cluster_id == original.id and edited.duplicate_of == original.id
    assert unrelated.cluster_id == unrelated.id and unrelated.duplicate_of is None
    _index(es, settings, first_batch)

    # A later run (another process, another worker) finds the cluster in the index.
    later = assign_clusters(
        es,
        settings,
        [
            _article("https://d.example/teaser", copies["truncated"]),
            _article("https://e.example/same-body", story),  # exact copy under another URL
        ],
    )
    assert [a.cluster_id for a in later] == [original.id, original.id]
    assert later[1].duplicate_of == original.id
    _index(es, settings, later)
    members = es.count(
        index=settings.index_name("articles"), query={"term": {"cluster_id": original.id}}
    )["count"]
    assert members == 4


def test_rerun_of_the_same_article_does_not_cluster_with_itself(
    es: Elasticsearch, own_settings: Settings
) -> None:
    settings = own_settings
    ensure_indices(es, settings)
    text = fixture_stories()["fixture:troops-kursk"]
    article = _article("https://f.example/kursk", text)
    (first,) = assign_clusters(es, settings, [article])
    _index(es, settings, [first])
    (again,) = assign_clusters(es, settings, [dataclasses.replace(article)])
    assert again.duplicate_of is None and again.cluster_id == article.id
