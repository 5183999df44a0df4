"""Re-tagging in place against the real Elasticsearch: updates, idempotence, config changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import REPO_CONFIG_DIR, Settings, load_taxonomy
from pipeline.ingest.retag import retag
from pipeline.ingest.tag import Tagger
from pipeline.models import TaggedArticle
from pipeline.store import articles as article_store
from pipeline.store import ensure_indices
from pipeline.urls import article_id
from tests.conftest import delete_indices
from tests.support.articles import make_article

TEXTS = {
    "https://x.example/a": (
        "Putin meets Kim Jong Un in Pyongyang",
        "Vladimir Putin met North Korean leader Kim Jong Un in Pyongyang and "
        "signed a treaty between Russia and North Korea.",
    ),
    "https://x.example/b": (
        "Samsung profit jumps",
        "Samsung Electronics reported higher profit on demand for memory chips used in servers.",
    ),
}


@pytest.fixture
def own_settings(es: Elasticsearch, settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"index_prefix": settings.index_prefix + "retag-"})
    ensure_indices(es, own)
    untagged = [
        TaggedArticle(
            make_article(url, title, text, site="x"),
            [],
            datetime.now(UTC),
        )
        for url, (title, text) in TEXTS.items()
    ]
    article_store.create(es, own, [article_store.hit(item) for item in untagged])
    article_store.refresh(es, own)
    yield own
    delete_indices(es, own.index_prefix)


def test_retag_updates_in_place_and_is_idempotent(
    es: Elasticsearch, own_settings: Settings
) -> None:
    tagger = Tagger(load_taxonomy(REPO_CONFIG_DIR / "topics.yaml"))
    seen: list[tuple[int, int]] = []
    first = retag(es, own_settings, tagger, progress=lambda s, n: seen.append((s.total, n)))
    assert (first.total, first.updated, first.unchanged, first.errors) == (2, 1, 1, [])
    assert seen[-1] == (2, 2)
    doc = es.get(index=own_settings.index_name("articles"), id=article_id("https://x.example/a"))[
        "_source"
    ]
    assert "russia-dprk-relations" in doc["topics"]
    assert "Vladimir Putin" in doc["people"] and "kim-jong-un" in doc["entities"]
    assert doc["text"].startswith("Vladimir Putin")  # the rest of the document is untouched

    second = retag(es, own_settings, tagger)
    assert (second.updated, second.unchanged) == (0, 2)


def test_retag_follows_a_changed_taxonomy(
    es: Elasticsearch, own_settings: Settings, tmp_path: pytest.TempPathFactory
) -> None:
    retag(es, own_settings, Tagger(load_taxonomy(REPO_CONFIG_DIR / "topics.yaml")))
    changed = tmp_path / "topics.yaml"  # type: ignore[operator]
    changed.write_text(
        "groups:\n  chips: {phrases: [memory chip*, semiconductor*]}\n"
        "topics:\n  - id: semiconductors\n    name: Semiconductors\n    any_of: [chips]\n"
    )
    summary = retag(es, own_settings, Tagger(load_taxonomy(changed)))
    assert summary.updated == 2  # one gains the new topic, the other loses its old ones
    docs = {
        hit["_id"]: hit["_source"]
        for hit in es.search(index=own_settings.index_name("articles"), size=10)["hits"]["hits"]
    }
    assert docs[article_id("https://x.example/b")]["topics"] == ["semiconductors"]
    assert docs[article_id("https://x.example/a")]["topics"] == []
