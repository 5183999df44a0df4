"""The DAGs load, are wired as designed, and news_ingest really ingests under dag.test()."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.store import backups, ensure_indices
from pipeline.store.indices import Index, mapping_version
from pipeline.tasks import NEW_ARTICLES_ALIAS, NEW_ARTICLES_NAME, shard_count
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def fixture_feeds(
    fixture_site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, es: Elasticsearch
) -> Iterator[Callable[[dict[str, str]], Settings]]:
    """Points newsmon (as the DAGs' tasks load it) at a config of these fixture-site
    feeds and an index prefix of its own; the indices are deleted afterwards."""
    used: list[Settings] = []

    def use(feeds: dict[str, str]) -> Settings:
        config = write_config_dir(tmp_path / "config", fixture_site.base_url, feeds)
        for key, value in make_test_env(config).items():
            monkeypatch.setenv(key, value)
        used.append(load_settings())
        return used[-1]

    yield use
    for settings in used:
        delete_indices(es, settings.index_prefix)


def test_dags_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {"news_ingest", "news_alerts", "news_retag", "news_backup"} <= set(dagbag.dags)


def test_news_ingest_structure(dagbag: Any) -> None:
    dag = dagbag.dags["news_ingest"]
    assert dag.timetable.delta == timedelta(minutes=15)
    assert {t.task_id for t in dag.tasks} == {"ingest_shard"}
    assert set(dag.params) == {"force", "feeds"}  # shown in the trigger form
    ingest = dag.get_task("ingest_shard")
    assert ingest.retries >= 1
    assert ingest.retry_delay == timedelta(minutes=1)  # NEWSMON_INGEST_RETRY_SECONDS' default
    assert ingest.op_kwargs_expand_input.value["shard"] == list(range(shard_count()))
    # Published through an alias: only a shard that indexed something emits an event.
    assert [type(a).__name__ for a in ingest.outlets] == ["AssetAlias"]
    assert [a.name for a in ingest.outlets] == [NEW_ARTICLES_ALIAS]
    assert "ingest" in dag.tags and not dag.catchup


def test_news_alerts_runs_on_the_new_articles_asset(dagbag: Any) -> None:
    dag = dagbag.dags["news_alerts"]
    condition = dag.timetable.asset_condition
    assert [a.name for a in condition.objects] == [NEW_ARTICLES_NAME]
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"  # also retries on a clock
    assert dag.timetable.timetable.delta == timedelta(minutes=10)  # NEWSMON_ALERTS_INTERVAL_MINUTES
    assert [t.task_id for t in dag.tasks] == ["record_ingest_stats", "match_and_deliver"]
    assert all(t.retries >= 1 for t in dag.tasks)


def test_news_alerts_clock_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("NEWSMON_ALERTS_INTERVAL_MINUTES", "0")
    dag = DagBag(dag_folder=str(DAGS_DIR / "news_alerts.py")).dags["news_alerts"]
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"  # new articles only
    assert [a.name for a in dag.timetable.asset_condition.objects] == [NEW_ARTICLES_NAME]


def test_news_retag_is_manual(dagbag: Any) -> None:
    dag = dagbag.dags["news_retag"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # runs only when triggered
    assert [t.task_id for t in dag.tasks] == ["retag_articles"]


def test_news_backup_snapshots_daily_under_dag_test(
    airflow_db: None,
    dagbag: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    es: Elasticsearch,
) -> None:
    dag = dagbag.dags["news_backup"]
    assert dag.timetable.expression == "0 0 * * *" and not dag.catchup  # @daily
    for key, value in make_test_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    ensure_indices(es, settings)
    try:
        assert dag.test().state == "success"
        snapshots = backups.list_snapshots(es, settings)
        assert len(snapshots) == 1 and snapshots[0].state == "SUCCESS"
        current = f"-v{mapping_version(Index.ARTICLES)}"
        assert settings.index_name("articles") + current in snapshots[0].indices
    finally:
        for snapshot in backups.list_snapshots(es, settings):
            es.snapshot.delete(repository=backups.repository(settings), snapshot=snapshot.name)
        es.snapshot.delete_repository(name=backups.repository(settings))
        delete_indices(es, settings.index_prefix)


def test_news_alerts_succeeds_before_the_first_ingest(
    airflow_db: None,
    dagbag: Any,
    fixture_feeds: Callable[[dict[str, str]], Settings],
    es: Elasticsearch,
) -> None:
    """Its clock runs every 10 minutes from the start: on a new install that is before
    news_ingest has created any index."""
    settings = fixture_feeds({"fixture-world": "/feeds/world.rss"})
    assert not es.indices.exists(index=settings.index_name("articles"))
    dag_run = dagbag.dags["news_alerts"].test()
    assert dag_run.state == "success"
    stats = dag_run.get_task_instance("record_ingest_stats").xcom_pull(
        task_ids="record_ingest_stats"
    )
    assert stats["articles_total"] == 0


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_do_no_work_at_parse_time(path: Path) -> None:
    """Top-level imports are Airflow, stdlib and pipeline.tasks only; pipeline work is
    imported inside the tasks."""
    tree = ast.parse(path.read_text())
    allowed = {"__future__", "os", "datetime", "typing", "pendulum", "airflow", "pipeline"}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            assert module and module.split(".")[0] in allowed, module
            if module.startswith("pipeline"):
                assert module == "pipeline" and [a.name for a in node.names] == ["tasks"]


def test_news_ingest_dag_test_indexes_fixture_articles(
    airflow_db: None,
    dagbag: Any,
    fixture_feeds: Callable[[dict[str, str]], Settings],
    es: Elasticsearch,
) -> None:
    feeds = {
        "fixture-world": "/feeds/world.rss",
        "fixture-korea": "/feeds/korea.atom",
        "fixture-not-a-feed": "/feeds/not-a-feed.html",
    }
    settings = fixture_feeds(feeds)
    dag_run = dagbag.dags["news_ingest"].test()
    assert dag_run.state == "success"
    instances = dag_run.get_task_instances()
    shards = [ti for ti in instances if ti.task_id == "ingest_shard"]
    assert {ti.state for ti in shards} == {"success"}
    published = new_article_events(dag_run.run_id)
    assert sum(event["indexed"] for event in published) == 5  # the run's totals
    assert len(shards) == shard_count()
    labels = sorted(ti.rendered_map_index for ti in shards)
    assert labels[0].startswith(f"shard 1/{len(shards)}: ")  # what each shard held
    assert sum(int(label.split(": ")[1].split()[0]) for label in labels) == len(feeds)
    es.indices.refresh(index=settings.index_name("articles"))
    assert es.count(index=settings.index_name("articles"))["count"] == 5
    broken = es.get(index=settings.index_name("feeds"), id="fixture-not-a-feed")["_source"]
    assert broken["last_status"] == "failed"
    # Nothing new on a forced rerun: the shards succeed and publish no event.
    rerun = dagbag.dags["news_ingest"].test(run_conf={"force": True})
    assert rerun.state == "success" and new_article_events(rerun.run_id) == []


def new_article_events(run_id: str) -> list[dict[str, Any]]:
    """The extras of the `newsmon_new_articles` events the run emitted."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as db:
        events = (
            db.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.name == NEW_ARTICLES_NAME, AssetEvent.source_run_id == run_id)
            .all()
        )
        return [dict(event.extra) for event in events]
