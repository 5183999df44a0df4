"""The distributed mode end to end (scripts/local_cluster.py): Airflow with the
CeleryExecutor on PostgreSQL and Redis, two Celery workers, scheduler, dag-processor and
api-server, all started for this module, and the session's 3-node Elasticsearch.
news_ingest (two shards, so both workers take one) and the news_alerts it triggers run
over loopback feeds where two outlets carry copies of one story, while one worker is
killed and one Elasticsearch node stopped in the middle of the run: every article
indexed once, one cluster per story, one alert per story, politeness spacing held on the
one host across both workers (through Redis)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.devtools.local_es import LocalElasticsearch
from tests.conftest import TEST_PREFIXES, make_test_env
from tests.support.fixture_site import FixtureSite, write_config_dir

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "local_cluster.py"
MIN_DELAY = 0.4
FEEDS = {"fixture-world": "/feeds/world.rss", "fixture-korea": "/feeds/korea.atom"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.url = f"http://127.0.0.1:{env['NEWSMON_CLUSTER_PORT']}"
        self.redis_url = f"redis://127.0.0.1:{env['NEWSMON_CLUSTER_REDIS_PORT']}/0"

    def run(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), action],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def api(self) -> httpx.Client:
        users = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        user, password = next(iter(users.items()))
        token = httpx.post(
            f"{self.url}/auth/token", json={"username": user, "password": password}, timeout=10
        ).json()["access_token"]
        return httpx.Client(
            base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def trigger_ingest(self, api: httpx.Client) -> str:
        response = api.post(
            "/dags/news_ingest/dagRuns", json={"logical_date": None, "conf": {"force": True}}
        )
        response.raise_for_status()
        return str(response.json()["dag_run_id"])

    def wait_for(self, api: httpx.Client, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = str(api.get(f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"])
            if state == "failed":
                print(self.run_report(api, dag_id, run_id))  # pytest shows it on failure
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        print(self.run_report(api, dag_id, run_id))
        raise AssertionError(f"{dag_id} {run_id} did not finish in {timeout:.0f} s")

    def run_report(self, api: httpx.Client, dag_id: str, run_id: str) -> str:
        """The run's task instances and the last lines of each attempt's log: why it failed."""
        instances = api.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        parts = [
            f"{ti['task_id']}: {ti['state']}, try {ti['try_number']} on {ti['hostname']}"
            for ti in instances.get("task_instances", [])
        ]
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        for log in sorted(folder.glob("task_id=*/**/*.log")):
            tail = [line[:500] for line in log.read_text(errors="replace").splitlines()[-40:]]
            parts.append(f"--- {log.relative_to(folder)}\n" + "\n".join(tail))
        return "\n".join(parts) or f"no task logs in {folder}"

    def wait_until_idle(self, api: httpx.Client, timeout: float = 180) -> None:
        """No DAG run queued or running: the run a clock makes at start (news_backup,
        daily) holds a worker for a while, and a shard queued meanwhile goes to the other
        worker after its first shard. (news_alerts' clock is off in this module: a tick
        during the ingest run would do the same.)"""
        deadline = time.monotonic() + timeout
        while True:
            busy = api.get("/dags/~/dagRuns", params={"state": ["queued", "running"]})
            runs = [run["dag_run_id"] for run in busy.json()["dag_runs"]]
            if not runs:
                return
            assert time.monotonic() < deadline, f"runs still going: {runs}"
            time.sleep(2)

    def asset_triggered_alerts(self, api: httpx.Client) -> list[dict[str, Any]]:
        runs = api.get("/dags/news_alerts/dagRuns", params={"run_type": "asset_triggered"})
        return list(runs.json()["dag_runs"])

    def shard_workers(self, run_id: str) -> set[str]:
        """Which workers took the run's ingest_shard tasks (from their logs)."""
        pattern = f"task_id='ingest_shard', dag_id='news_ingest', run_id='{re.escape(run_id)}'"
        found = set()
        for worker in ("worker1", "worker2"):
            log = (self.home / f"{worker}.log").read_text(errors="replace")
            if re.search(pattern, log):
                found.add(worker)
        return found

    def shards_running_on_both_workers(self, api: httpx.Client, run_id: str) -> bool:
        """Each worker took a shard, and no shard is still queued: a task its worker
        received but had not yet started is not declared lost by the heartbeat timeout
        but only by the much longer queued timeout (600 s)."""
        if self.shard_workers(run_id) != {"worker1", "worker2"}:
            return False
        listed = api.get(f"/dags/news_ingest/dagRuns/{run_id}/taskInstances").json()
        states = [ti["state"] for ti in listed["task_instances"] if ti["task_id"] == "ingest_shard"]
        return "running" in states and all(state in ("running", "success") for state in states)

    def kill(self, component: str) -> None:
        """SIGKILL a component and the task processes it runs, as a crashed machine."""
        os.killpg(int((self.home / f"{component}.pid").read_text()), signal.SIGKILL)


@pytest.fixture(scope="module")
def cluster_settings(
    tmp_path_factory: pytest.TempPathFactory, fixture_site: FixtureSite
) -> Settings:
    config = write_config_dir(
        tmp_path_factory.mktemp("cluster-config"), fixture_site.base_url, FEEDS
    )
    return load_settings({**os.environ, **make_test_env(config)})


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    cluster_settings: Settings,
    es_cluster: LocalElasticsearch,
) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("cluster")
    user = es_cluster.credentials(TEST_PREFIXES)
    pg_port = _free_port()
    env = {
        **os.environ,
        **make_test_env(cluster_settings.config_dir),
        "NEWSMON_INDEX_PREFIX": cluster_settings.index_prefix,
        "NEWSMON_CLUSTER_HOME": str(home),
        "NEWSMON_CLUSTER_PORT": str(_free_port()),
        "NEWSMON_CLUSTER_PG_PORT": str(pg_port),
        "NEWSMON_CLUSTER_REDIS_PORT": str(_free_port()),
        "NEWSMON_ES_URL": ",".join(node.url for node in es_cluster.nodes()),
        "NEWSMON_ES_USERNAME": user.username,
        "NEWSMON_ES_PASSWORD": user.password,
        "NEWSMON_ES_CA_CERTS": str(user.ca_certs),
        "NEWSMON_INGEST_SHARDS": "2",
        "NEWSMON_INGEST_PROCESSES": "1",
        "NEWSMON_INGEST_INTERVAL_MINUTES": "0",  # news_ingest only when triggered
        "NEWSMON_ALERTS_INTERVAL_MINUTES": "0",  # news_alerts only on new articles
        "NEWSMON_HOST_MIN_DELAY_SECONDS": str(MIN_DELAY),
        # A killed worker's task is failed after 20 s without a heartbeat, and retried
        # 5 s later (a minute by default).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "NEWSMON_INGEST_RETRY_SECONDS": "5",
    }
    running = Cluster(home, env)
    started = running.run("start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield running
    finally:
        stopped = running.run("stop")
        shutil.rmtree(cluster_settings.cache_dir / f"postgres-{pg_port}", ignore_errors=True)
        assert stopped.returncode == 0, stopped.stderr


def test_ingest_and_alerts_on_celery_workers_while_a_worker_and_a_node_fail(
    cluster: Cluster,
    cluster_settings: Settings,
    es_cluster: LocalElasticsearch,
    cluster_admin: Elasticsearch,
    fixture_site: FixtureSite,
    request: pytest.FixtureRequest,
) -> None:
    settings = cluster_settings
    articles = settings.index_name("articles")
    deadline = time.monotonic() + 60  # the scheduler's heartbeat can lag on a busy machine
    while (status := cluster.run("status")).returncode != 0 and time.monotonic() < deadline:
        time.sleep(5)
    assert status.returncode == 0 and "worker2: running" in status.stdout, status.stdout
    since = time.time()
    with cluster.api() as api:
        cluster.wait_until_idle(api)
        run_id = cluster.trigger_ingest(api)
        deadline = time.monotonic() + 120
        while not cluster.shards_running_on_both_workers(api, run_id):
            assert time.monotonic() < deadline, "the shards did not run on both workers"
            time.sleep(0.2)
        cluster.kill("worker2")  # with the shard it was running
        es_cluster.nodes()[0].stop_node(say=lambda _: None)
        request.addfinalizer(lambda: es_cluster.start(say=lambda _: None))
        # worker1 finishes its shard, then takes worker2's over once it is declared lost.
        assert cluster.wait_for(api, "news_ingest", run_id, timeout=400) == "success"
        deadline = time.monotonic() + 120  # the new-articles asset triggers news_alerts
        while not (alert_runs := cluster.asset_triggered_alerts(api)):
            assert time.monotonic() < deadline, "news_alerts was not triggered"
            time.sleep(2)
        assert cluster.wait_for(api, "news_alerts", alert_runs[0]["dag_run_id"]) == "success"

        cluster_admin.indices.refresh(index=articles)
        hits = cluster_admin.search(index=articles, size=20, source=["cluster_id"])["hits"]["hits"]
        assert len(hits) == 5 and len({hit["_source"]["cluster_id"] for hit in hits}) == 4
        alerts = (settings.config_dir / "alerts.jsonl").read_text().splitlines()
        assert len(alerts) == 1  # the cruise-missile rule, once for its story

        # Every request to the one fixture host, from both workers, spaced by the delay.
        starts = [at for at, _ in fixture_site.request_times if at >= since]
        assert len(starts) >= 10
        assert all(b - a >= MIN_DELAY - 0.05 for a, b in itertools.pairwise(starts))
        # ... each booked in Redis (the booking script's calls; its keys expire).
        booked = redis.Redis.from_url(cluster.redis_url).info("commandstats")
        assert booked["cmdstat_evalsha"]["calls"] >= len(starts)

        es_cluster.start(say=lambda _: None)  # the node comes back (a no-op when it has)
        again = cluster.trigger_ingest(api)  # a forced rerun: nothing new, nothing twice
        assert cluster.wait_for(api, "news_ingest", again) == "success"
    cluster_admin.indices.refresh(index=articles)
    assert cluster_admin.count(index=articles)["count"] == 5
    assert len((settings.config_dir / "alerts.jsonl").read_text().splitlines()) == 1
