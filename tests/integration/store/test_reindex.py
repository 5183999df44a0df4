"""`newsmon reindex`: an index of the previous version gains the analysed fields in a
new index behind the same alias, nothing lost, and a rerun is harmless."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.ingest.dedup import make_fingerprint
from pipeline.search.pages import search
from pipeline.store import articles, ensure_indices
from pipeline.store.articles import LOOKUP_FROM_DOC_VALUES
from pipeline.store.indices import (
    Index,
    behind_alias,
    load_mapping,
    mapping_version,
    outdated,
)
from pipeline.store.reindex import reindex_articles
from tests.conftest import delete_indices, make_test_env


def _fingerprint_fields(text: str) -> dict[str, Any]:
    fp = make_fingerprint(text)
    return {
        "content_hash": fp.content_hash,
        "minhash": list(fp.minhash),
        "lsh_bands": list(fp.bands),
        "shingle_count": fp.shingle_count,
    }


OLD_ARTICLES = {
    "a1": {
        "url": "https://old.example/a1",
        "cluster_id": "a1",
        "title": "Missiles fired",
        "text": "Two missiles.",
        "language": "en",
        **_fingerprint_fields("Two missiles."),
    },
    "a2": {
        "url": "https://old.example/a2",
        "cluster_id": "a2",
        "title": "Удар ракетой",
        "text": "Пуск ракеты.",
        "language": "ru",
    },
    "a3": {
        "url": "https://old.example/a3",
        "cluster_id": "a3",
        "title": "북한, 미사일 발사",
        "text": "북한이 순항미사일을 발사했다.",
        "language": "ko",
    },
}


@pytest.fixture
def old_index(es: Elasticsearch, tmp_path: Path) -> Iterator[Settings]:
    """news-articles-v1 as the previous version made it: no analysed fields."""
    settings = load_settings(make_test_env(tmp_path))
    alias = settings.index_name(Index.ARTICLES)
    body = load_mapping(Index.ARTICLES)
    for name in ("title_stems", "text_stems", "article_id", "signature"):
        del body["mappings"]["properties"][name]
    es.indices.create(
        index=f"{alias}-v1",
        settings=body["settings"],
        mappings=body["mappings"],
        aliases={alias: {"is_write_index": True}},
    )
    for article_id, doc in OLD_ARTICLES.items():
        es.index(index=alias, id=article_id, document=doc)
    es.indices.refresh(index=alias)
    yield settings
    delete_indices(es, settings.index_prefix)


def _near_duplicates(es: Elasticsearch, settings: Settings) -> list[str]:
    """The ids found as near-duplicates of a new copy of a1."""
    es.indices.refresh(index=settings.index_name(Index.ARTICLES))
    copy = make_fingerprint(OLD_ARTICLES["a1"]["text"])
    return [found.id for found in articles.similar(es, settings, [("new", copy)], 10)[0]]


def _found(es: Elasticsearch, settings: Settings, query: str) -> set[str]:
    articles._facts.clear()  # what a search knows of the index is remembered 5 minutes
    hits = search(es, settings, query, size=50)  # one per story: ranked by a rescore
    return {hit.id for hit in hits}


def test_reindex_moves_old_articles_to_the_new_version(
    es: Elasticsearch, old_index: Settings
) -> None:
    settings = old_index
    alias = settings.index_name(Index.ARTICLES)
    ensure_indices(es, settings)  # what `newsmon setup` does: new fields, old documents
    assert outdated(es, settings) == [f"{alias} ({alias}-v1)"]
    assert _found(es, settings, "ракета") == set()  # old documents: exact forms only
    assert _found(es, settings, "missiles") == {"a1"}
    assert _near_duplicates(es, settings) == ["a1"]  # read from their source meanwhile

    seen: list[tuple[int, int]] = []
    summary = reindex_articles(
        es, settings, progress=lambda done, total: seen.append((done, total))
    )
    assert summary.swapped and (summary.copied, summary.errors) == (3, 0)
    assert seen[-1] == (3, 3)
    current = f"{alias}-v{mapping_version(Index.ARTICLES)}"
    assert behind_alias(es, alias) == current and outdated(es, settings) == []
    assert es.count(index=alias)["count"] == 3
    assert _found(es, settings, "ракета") == {"a2"}
    assert _found(es, settings, "missile") == {"a1"}
    assert _found(es, settings, "미사일") == {"a3"}
    assert _near_duplicates(es, settings) == ["a1"]  # now from doc values
    hit = es.search(index=alias, query={"ids": {"values": ["a1"]}}, **LOOKUP_FROM_DOC_VALUES)
    assert hit["hits"]["hits"][0]["fields"]["article_id"] == ["a1"]
    blocked = es.indices.get_settings(index=f"{alias}-v1")[f"{alias}-v1"]["settings"]["index"]
    assert blocked["blocks"]["write"] == "true"  # kept, but nothing writes there by mistake

    again = reindex_articles(es, settings)
    assert not again.swapped and again.copied == 0  # up to date: a rerun does nothing


def test_an_interrupted_reindex_is_finished_by_running_it_again(
    es: Elasticsearch, old_index: Settings
) -> None:
    settings = old_index
    alias = settings.index_name(Index.ARTICLES)
    body = load_mapping(Index.ARTICLES)  # the first run made the target and copied one
    target = f"{alias}-v{mapping_version(Index.ARTICLES)}"
    es.indices.create(index=target, settings=body["settings"], mappings=body["mappings"])
    es.index(index=target, id="a1", document=OLD_ARTICLES["a1"])
    summary = reindex_articles(es, settings)
    assert summary.swapped and summary.copied == 3
    assert es.count(index=alias)["count"] == 3
