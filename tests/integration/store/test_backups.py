"""`newsmon backup`: a snapshot of every index comes back whole after the indices are
gone, aliases included; old snapshots are pruned (real Elasticsearch, fs repository)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.errors import NewsmonError
from pipeline.store import backups, ensure_indices
from pipeline.store.indices import Index, behind_alias
from tests.conftest import delete_indices, make_test_env
from tests.support.articles import index_articles, make_article


@pytest.fixture
def indexed(es: Elasticsearch, tmp_path: Path) -> Iterator[Settings]:
    settings = load_settings(make_test_env(tmp_path))
    ensure_indices(es, settings)
    made = [make_article(f"https://b.example/{n}", f"Story {n}", "Text " * 50) for n in range(5)]
    index_articles(es, settings, made)
    es.index(index=settings.index_name(Index.FEEDS), id="f1", document={"feed_id": "f1"})
    es.indices.refresh(index=f"{settings.index_prefix}*")
    yield settings
    for snapshot in backups.list_snapshots(es, settings):
        es.snapshot.delete(repository=backups.repository(settings), snapshot=snapshot.name)
    es.snapshot.delete_repository(name=backups.repository(settings))
    delete_indices(es, settings.index_prefix)


def _counts(es: Elasticsearch, settings: Settings) -> dict[str, int]:
    return {kind.value: es.count(index=settings.index_name(kind))["count"] for kind in Index}


def test_a_snapshot_restores_every_index_and_alias(es: Elasticsearch, indexed: Settings) -> None:
    settings = indexed
    before = _counts(es, settings)
    aliases = {kind: behind_alias(es, settings.index_name(kind)) for kind in Index}
    snapshot = backups.create(es, settings)
    assert snapshot.state == "SUCCESS" and len(snapshot.indices) == len(Index)

    with pytest.raises(NewsmonError, match="--replace"):  # the indices are in the way
        backups.restore(es, settings, snapshot.name)
    delete_indices(es, settings.index_prefix)
    assert not es.indices.exists(index=settings.index_name(Index.ARTICLES))

    backups.restore(es, settings, snapshot.name)
    assert _counts(es, settings) == before and before["articles"] == 5
    assert {kind: behind_alias(es, settings.index_name(kind)) for kind in Index} == aliases

    later = make_article("https://b.example/9", "Later", "Text " * 50)
    assert index_articles(es, settings, [later]).created_ids  # via the alias
    backups.restore(es, settings, snapshot.name, replace=True)  # back to the snapshot
    assert _counts(es, settings) == before


def test_prune_keeps_the_newest(es: Elasticsearch, indexed: Settings) -> None:
    settings = indexed
    start = datetime(2026, 11, 1, tzinfo=UTC)
    made = [backups.create(es, settings, now=start + timedelta(days=n)).name for n in range(3)]
    assert backups.prune(es, settings, keep=2) == made[:1]
    assert [s.name for s in backups.list_snapshots(es, settings)] == made[1:]


def test_a_location_outside_path_repo_is_a_clear_error(
    es: Elasticsearch, indexed: Settings
) -> None:
    settings = indexed.model_copy(update={"backup_location": "/not/in/path/repo"})
    with pytest.raises(NewsmonError, match=r"path\.repo must include it"):
        backups.create(es, settings)


def test_two_prefixes_on_one_cluster_keep_their_own_snapshots(
    es: Elasticsearch, indexed: Settings, tmp_path: Path
) -> None:
    other = load_settings(make_test_env(tmp_path))  # another index prefix
    ensure_indices(es, other)
    try:
        mine, theirs = backups.create(es, indexed), backups.create(es, other)
        again = backups.create(es, indexed, now=datetime(2030, 1, 1, tzinfo=UTC))
        assert [s.name for s in backups.list_snapshots(es, indexed)] == [mine.name, again.name]
        assert [s.name for s in backups.list_snapshots(es, other)] == [theirs.name]
    finally:
        for snapshot in backups.list_snapshots(es, other):
            es.snapshot.delete(repository=backups.repository(other), snapshot=snapshot.name)
        es.snapshot.delete_repository(name=backups.repository(other))
        delete_indices(es, other.index_prefix)
