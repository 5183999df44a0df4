"""Feed polling state against the fixture site: validators, unchanged bodies, backoff,
and which feeds are due."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_feeds, load_settings
from pipeline.ingest.engine import run_cycle
from pipeline.store import session
from pipeline.store.feeds import load_states
from pipeline.tasks import due_feeds
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir


@pytest.fixture
def polling(
    fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    feeds = {
        "plain-world": "/feeds/world.rss?plain=1",  # a server that ignores validators
        "broken": "/feeds/missing.rss",
    }
    env = make_test_env(write_config_dir(tmp_path, fixture_site.base_url, feeds))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    yield settings
    delete_indices(es, settings.index_prefix)


def test_unchanged_body_is_detected_when_validators_are_ignored(
    polling: Settings, fixture_site: FixtureSite, es: Elasticsearch
) -> None:
    first = run_cycle(polling, ["plain-world"])
    assert first.feeds[0].poll == "fetched" and first.feeds[0].indexed == 3
    second = run_cycle(polling, ["plain-world"])
    assert second.feeds[0].poll == "unchanged" and second.feeds[0].entries == 0
    state = load_states(es, polling, ["plain-world"])["plain-world"]
    assert (state.unchanged, state.not_modified, state.etag) == (1, 0, None)


def test_failing_feed_backs_off_and_stays_scheduled(polling: Settings, es: Elasticsearch) -> None:
    before = datetime.now(UTC)
    for attempt in (1, 2):
        (result,) = run_cycle(polling, ["broken"]).feeds
        assert not result.ok and "HTTP 404" in str(result.error) and result.poll == "failed"
        state = load_states(es, polling, ["broken"])["broken"]
        assert state.consecutive_failures == attempt
    assert state.next_poll_at is not None and datetime.fromisoformat(state.next_poll_at) > before
    health = es.get(index=polling.index_name("feeds"), id="broken")["_source"]
    assert health["last_status"] == "failed" and health["consecutive_failures"] == 2


def _planned(settings: Settings, **params: object) -> set[str]:
    """The feeds two shard tasks would poll now (each owns its share: no feed twice)."""
    with session(settings, setup=True) as es:
        shards = [
            [feed.id for feed in due_feeds(es, settings, shard, 2, **params)]  # type: ignore[arg-type]
            for shard in range(2)
        ]
    assert not set(shards[0]) & set(shards[1])
    return set(shards[0]) | set(shards[1])


def test_only_due_feeds_are_polled_unless_forced(polling: Settings) -> None:
    assert _planned(polling) == {"plain-world", "broken"}  # never polled: due
    run_cycle(polling)
    assert _planned(polling) == set()  # each got its next poll time in the future
    assert _planned(polling, force=True) == {"plain-world", "broken"}  # a manual run polls all
    assert _planned(polling, feed_ids=["broken"]) == {"broken"}


def test_feeds_health_table_and_check_from_the_command_line(
    polling: Settings, fixture_site: FixtureSite
) -> None:
    run_cycle(polling)
    health = newsmon("feeds", "--json")
    assert health.returncode == 0, health.stderr
    rows = {row["feed_id"]: row for row in json.loads(health.stdout)}
    assert rows["plain-world"]["status"] == "ok" and rows["plain-world"]["items_seen"] == 5
    assert rows["broken"]["status"] == "failed" and rows["broken"]["consecutive_failures"] == 1
    readable = newsmon("feeds").stdout
    assert "plain-world" in readable and "HTTP 404" in readable

    good = newsmon("feeds", "check", f"{fixture_site.base_url}/feeds/korea.atom")
    assert good.returncode == 0 and "ok: 3 entries" in good.stdout and "ETag" in good.stdout
    html = newsmon("feeds", "check", f"{fixture_site.base_url}/feeds/not-a-feed.html")
    assert html.returncode == 1 and "not a readable feed" in html.stdout


def newsmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "newsmon"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def test_feeds_add_discovers_validates_and_appends(
    polling: Settings, fixture_site: FixtureSite
) -> None:
    feeds_yaml = polling.config_dir / "feeds.yaml"
    original = feeds_yaml.read_text()
    added = newsmon("feeds", "add", f"{fixture_site.base_url}/sections/korea.html", "--json")
    assert added.returncode == 0, added.stderr
    report = {item["title"]: item for item in json.loads(added.stdout)}
    assert report["Fixture World News"]["added"] == "fixture-world-news"
    assert report["Fixture Asia Desk"]["entries"] == 3
    assert "HTTP 404" in report["Old feed"]["skipped"]  # advertised, but gone: not added
    text = feeds_yaml.read_text()
    assert text.startswith(original.rstrip("\n"))  # the rest of the file is untouched
    ids = [feed.id for feed in load_feeds(polling)]
    assert ids[-2:] == ["fixture-world-news", "fixture-asia-desk"]

    again = newsmon("feeds", "add", f"{fixture_site.base_url}/feeds/korea.atom", "--json")
    assert again.returncode == 1  # a feed URL works too, but this one is configured already
    assert json.loads(again.stdout)[0]["skipped"] == "already configured"
    nothing = newsmon("feeds", "add", f"{fixture_site.base_url}/feeds/not-a-feed.html")
    assert nothing.returncode == 1 and "no feed found" in nothing.stdout
