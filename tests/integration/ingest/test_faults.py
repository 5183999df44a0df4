"""Faults that must lose nothing: an articles index turned read-only (Elasticsearch's
disk flood stage), a webhook that accepts the connection and never answers, and
`newsmon run` killed with SIGKILL in the middle of a run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.alerts.delivery import deliver_pending
from pipeline.config import Settings, load_alerts, load_settings
from pipeline.ingest.engine import run_cycle
from pipeline.store.indices import Index, behind_alias
from tests.conftest import delete_indices, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir
from tests.support.receivers import HttpReceiver

WORLD = {"fixture-world": "/feeds/world.rss"}  # 3 articles, a 404 and a paywalled page
NEWSMON = str(Path(sys.executable).parent / "newsmon")


@pytest.fixture
def world(fixture_site: FixtureSite, tmp_path: Path, es: Elasticsearch) -> Iterator[Settings]:
    settings = load_settings(
        make_test_env(write_config_dir(tmp_path, fixture_site.base_url, WORLD))
    )
    yield settings
    delete_indices(es, settings.index_prefix)


def _articles(es: Elasticsearch, settings: Settings) -> int:
    es.indices.refresh(index=settings.index_name(Index.ARTICLES))
    return int(es.count(index=settings.index_name(Index.ARTICLES))["count"])


def test_a_read_only_index_mid_run_loses_nothing(es: Elasticsearch, world: Settings) -> None:
    from pipeline.store import ensure_indices

    ensure_indices(es, world)
    index = behind_alias(es, world.index_name(Index.ARTICLES))
    block = {"index.blocks.read_only_allow_delete": True}  # what the flood stage sets
    es.indices.put_settings(index=index, settings=block)
    try:
        blocked = run_cycle(world)
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None})
    feed = blocked.feeds[0]
    assert feed.indexed == 0 and feed.retryable >= 3
    assert any(
        "read_only_allow_delete" in failure or "blocked" in failure for failure in feed.failures
    )
    assert _articles(es, world) == 0

    after = run_cycle(world)  # the block is lifted: everything comes in, once
    assert after.totals()["indexed"] == 3 and _articles(es, world) == 3
    assert run_cycle(world).totals()["indexed"] == 0


class SilentServer:
    """Accepts connections and reads requests, never answers."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._connections.append(connection)  # held open, unanswered

    def stop(self) -> None:
        self._socket.close()
        for connection in self._connections:
            connection.close()


def _webhook_alerts(config_dir: Path, url: str) -> None:
    (config_dir / "alerts.yaml").write_text(f"""
channels:
  hook: {{type: webhook, url: "{url}", timeout: 2}}
rules:
  - {{id: missiles, query: missile, channels: [hook]}}
delivery: {{retry_base_seconds: 1}}
""")


def test_a_webhook_that_never_answers_holds_nothing_up(es: Elasticsearch, world: Settings) -> None:
    silent, receiver = SilentServer(), HttpReceiver()
    try:
        _webhook_alerts(world.config_dir, silent.url)
        started = time.monotonic()
        summary = run_cycle(world)
        elapsed = time.monotonic() - started
        assert summary.totals()["indexed"] == 3 and summary.alerts >= 1
        assert summary.alerts_delivered == 0
        assert elapsed < 20  # the 2 s channel timeout, not the silence, bounds the wait

        _webhook_alerts(world.config_dir, receiver.url)  # the endpoint is fixed
        time.sleep(2.5)  # past the retry time of the failed attempt
        alerts = load_alerts(world)
        delivered = deliver_pending(es, world, alerts)
        assert delivered.delivered == summary.alerts == len(receiver.received)
        deliver_pending(es, world, alerts)
        assert len(receiver.received) == summary.alerts  # exactly once
    finally:
        silent.stop()
        receiver.stop()


def _children(pid: int) -> list[int]:
    """The process's children (its extraction workers)."""
    tasks = Path(f"/proc/{pid}/task")
    found = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; it only waits to be reaped


def test_a_run_killed_mid_feed_is_completed_by_the_next(
    es: Elasticsearch, world: Settings, fixture_site: FixtureSite
) -> None:
    env = {
        **os.environ,
        **make_test_env(world.config_dir),
        "NEWSMON_INDEX_PREFIX": world.index_prefix,
    }
    pages_before = sum(n for path, n in fixture_site.requests.items() if "/articles/" in path)
    run = subprocess.Popen(
        [NEWSMON, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once it is fetching the feed's pages
        fetched = sum(n for path, n in fixture_site.requests.items() if "/articles/" in path)
        if fetched > pages_before:
            break
        time.sleep(0.01)
    workers = _children(run.pid)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    killed_with = _articles(es, world)
    gone_by = time.monotonic() + 15  # the workers end with it, not wait forever
    while [pid for pid in workers if _running(pid)] and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert workers and not [pid for pid in workers if _running(pid)]

    again = subprocess.run(
        [NEWSMON, "run", "--json"], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    assert _articles(es, world) == 3 and killed_with < 3
    ids = [
        hit["_id"]
        for hit in es.search(index=world.index_name(Index.ARTICLES), size=10)["hits"]["hits"]
    ]
    assert len(set(ids)) == 3
