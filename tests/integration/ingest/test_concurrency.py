"""The concurrent engine loses and duplicates nothing: it indexes what one feed after
another would, two workers indexing copies of one story at once make one story, and
a new item is found by the next run."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings, select_feeds
from pipeline.ingest import engine, workers
from pipeline.ingest.engine import IngestContext, ingest_feeds, run_cycle
from pipeline.tasks import due_feeds
from tests.conftest import delete_indices, make_test_env
from tests.support import FIXTURES
from tests.support.fixture_site import FixtureSite, write_config_dir
from tests.support.live_feed import LiveFeed

STORIES = [
    json.loads(line)
    for line in (FIXTURES / "tagging" / "labelled.jsonl").read_text().splitlines()
    if line.strip()
]


@pytest.fixture
def make_settings(tmp_path: Path, es: Elasticsearch) -> Iterator[Any]:
    """Settings of a config dir of their own, with indices deleted afterwards."""
    made: list[Settings] = []

    def make(base_url: str, feeds: dict[str, str], **env: str) -> Settings:
        config_dir = write_config_dir(tmp_path / f"config-{len(made)}", base_url, feeds)
        settings = load_settings({**os.environ, **make_test_env(config_dir), **env})
        made.append(settings)
        return settings

    yield make
    for settings in made:
        delete_indices(es, settings.index_prefix)


def _outcome(es: Elasticsearch, settings: Settings) -> dict[str, Any]:
    """What a run left in the index: each article's story and tags, and the alerts."""
    es.indices.refresh(index=f"{settings.index_prefix}*")
    hits = es.search(index=settings.index_name("articles"), size=100)["hits"]["hits"]
    articles = {
        hit["_id"]: (
            hit["_source"]["cluster_id"],
            sorted(hit["_source"]["topics"]),
            sorted(hit["_source"]["entities"]),
        )
        for hit in hits
    }
    alerts = es.count(index=settings.index_name("alert-events"))["count"]
    return {"articles": articles, "alerts": alerts}


def test_concurrent_ingest_equals_one_feed_after_another(
    fixture_site: FixtureSite, make_settings: Any, es: Elasticsearch
) -> None:
    feeds = {
        "fixture-world": "/feeds/world.rss",
        "fixture-korea": "/feeds/korea.atom",
        "fixture-not-a-feed": "/feeds/not-a-feed.html",
    }
    results = []
    for processes, threads in ((0, 1), (2, 16)):  # sequential and inline, then concurrent
        settings = make_settings(fixture_site.base_url, feeds)
        ctx = IngestContext.open(settings, processes=processes, threads=threads)
        try:
            summary = ingest_feeds(ctx, select_feeds(settings, None))
        finally:
            ctx.close()
        results.append((summary.totals(), _outcome(es, settings)))
    (sequential_totals, sequential), (concurrent_totals, concurrent) = results
    assert sequential_totals["indexed"] == 5 and sequential["alerts"] == 1
    assert concurrent_totals == sequential_totals
    assert concurrent == sequential  # same articles, stories (cluster ids), tags, alerts


def test_copies_indexed_at_the_same_moment_by_two_workers_make_one_story(
    fixture_site: FixtureSite, make_settings: Any, es: Elasticsearch, monkeypatch: Any
) -> None:
    original, copy = LiveFeed(), LiveFeed()
    base = fixture_site.base_url
    original.add("Putin and Ri Hi Yong", "", link=f"{base}/articles/putin-ri-hi-yong.html")
    copy.add("Putin and Ri Hi Yong", "", link=f"{base}/articles/syndicated-putin-copy.html")
    settings = make_settings(base, {})
    (settings.config_dir / "feeds.yaml").write_text(
        "feeds:\n"
        f"  - {{id: original, name: Original, url: '{original.url}'}}\n"
        f"  - {{id: copy, name: Copy, url: '{copy.url}'}}\n"
    )
    # Both workers reach the clustering step together, as two Airflow workers may.
    together = threading.Barrier(2)
    real = engine._cluster_and_index

    def at_once(ctx: IngestContext, batch: list[engine.Collected]) -> Any:
        together.wait(timeout=60)
        return real(ctx, batch)

    monkeypatch.setattr(engine, "_cluster_and_index", at_once)
    workers = [IngestContext.open(settings, processes=1) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(
                    lambda worker, feed: ingest_feeds(worker, select_feeds(settings, [feed])),
                    workers,
                    ["original", "copy"],
                )
            )
    finally:
        for worker in workers:
            worker.close()
        original.stop()
        copy.stop()
    assert [run.totals()["indexed"] for run in runs] == [1, 1]
    clusters = {cluster for cluster, _, _ in _outcome(es, settings)["articles"].values()}
    assert len(clusters) == 1


def test_an_item_published_right_after_a_poll_is_found_by_the_next_run(
    fixture_site: FixtureSite, make_settings: Any, es: Elasticsearch
) -> None:
    """news_ingest every minute, a feed publishing about every minute: each run polls it
    (not only every few minutes), so a new item waits one run at most."""
    feed = LiveFeed()
    now = datetime.now(UTC)
    for minutes_ago, story in zip((3, 2, 1), STORIES, strict=False):
        published = now - timedelta(minutes=minutes_ago)
        feed.add(story["title"], story["text"], at=published.timestamp())
    schedule = {"NEWSMON_INGEST_INTERVAL_MINUTES": "1"}
    settings = make_settings(fixture_site.base_url, {}, **schedule)
    (settings.config_dir / "feeds.yaml").write_text(
        f"feeds:\n  - {{id: active, name: Active, url: '{feed.url}'}}\n"
    )
    try:
        assert run_cycle(settings).totals()["indexed"] == 3
        feed.add(STORIES[3]["title"], STORIES[3]["text"])  # right after the poll
        next_run = datetime.now(UTC) + timedelta(minutes=settings.ingest_interval_minutes)
        (due,) = due_feeds(es, settings, now=next_run)
        assert due.id == "active"  # an active feed is polled on every run
        assert run_cycle(settings, [due.id]).totals()["indexed"] == 1
    finally:
        feed.stop()


def crash_on_launch_page(body: bytes, entry: Any, fetched_at: datetime) -> Any:
    """A page that kills the worker processing it (as a hostile page might)."""
    if "hwasong-launch" in entry.url:
        os._exit(1)
    return PROCESS_PAGE(body, entry, fetched_at)


PROCESS_PAGE = workers.process_page


def test_a_page_that_kills_its_worker_fails_alone_and_is_retried_later(
    fixture_site: FixtureSite, make_settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(workers, "process_page", crash_on_launch_page)  # before the fork
    settings = make_settings(fixture_site.base_url, {"fixture-world": "/feeds/world.rss"})
    ctx = IngestContext.open(settings, processes=2, threads=1)  # one page at a time
    try:
        (result,) = ingest_feeds(ctx, select_feeds(settings, None)).feeds
    finally:
        ctx.close()
    assert result.ok and result.indexed == 2  # the other pages went on
    assert any("hwasong-launch.html" in f and "worker crashed" in f for f in result.failures)
    assert result.retryable == 1  # kept for the next poll: the feed's validators are dropped
