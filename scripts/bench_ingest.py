"""Ingest throughput on the same pages three ways, as ratios in one run: the news_ingest
DAG in `airflow standalone`, `newsmon run`, and a plain floor.

    .venv/bin/python scripts/bench_ingest.py CORPUS/extraction [--feeds 200] [--pages 5]
        [--hosts 20] [--rounds 3] [--warmup 1] [--skip-dag] [--json]

Needs the Elasticsearch newsmon uses (`newsmon es start`). CORPUS/extraction holds the
benchmark's real article pages (`html/<id>.html.gz`); each served page is one of them
made unique (a dispatch line with its own words in the first paragraph), so every page
is a new article. A separate process serves `--feeds` RSS feeds of `--pages` items on
`--hosts` loopback addresses (127.0.0.2, ...), with ETag/304. Each path runs on a fresh
index prefix, with politeness delay 0 (2 connections per host still hold):

  floor    feedparser + httpx + trafilatura JSON + bulk index, in 2 processes (half the
           feeds each, pages fetched by threads): no dedup, tags, alerts or state;
  run      `newsmon run` as a process, timed to its end;
  dag      news_ingest in its own `airflow standalone` (a temporary AIRFLOW_HOME, port
           8797), triggered through the REST API and timed to the run's end; then a
           second, forced run where nothing changed (every feed answers 304).

Prints pages/s of each, the ratios to the floor, the unchanged run's time and the shard
tasks' peak memory (task process plus its extraction workers). With `--rounds N` each
path is measured N times (floor and run alternating; the DAG's rounds in one Airflow, the
indices emptied and Airflow idle between them) and the median round is reported: single
runs on this 2-core machine swing by ±10 %. `--warmup N` rounds of floor and run come
first and are not counted: a freshly started Elasticsearch spends most of its CPU on
compiling its own code (measured: 30 CPU-s for the first 1,000 articles, 10 by the
seventh run), which a long-running cluster has long done.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import importlib
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_settings  # noqa: E402
from pipeline.devtools.local_es import LocalElasticsearch  # noqa: E402
from pipeline.store import backups, make_es_client, session  # noqa: E402
from tests.conftest import delete_indices  # noqa: E402
from tests.support.fixture_site import write_config_dir  # noqa: E402
from tests.support.loopback import QuietHandler, serve  # noqa: E402

WORDS = [
    "ministry",
    "envoy",
    "harbour",
    "treaty",
    "ceasefire",
    "sanctions",
    "convoy",
    "delegation",
    "summit",
    "reactor",
    "border",
    "shipment",
    "artillery",
    "drone",
    "frigate",
    "satellite",
    "pipeline",
    "tariff",
    "referendum",
    "census",
]
AIRFLOW_PORT = "8797"
BENCH_PREFIX = "bench-"
RUN_TIMEOUT = 3600


def load_pages(corpus: Path) -> list[bytes]:
    truth = json.loads((corpus / "ground-truth.json").read_text())
    return [gzip.decompress((corpus / "html" / f"{pid}.html.gz").read_bytes()) for pid in truth]


def unique_page(pages: list[bytes], feed: int, item: int) -> bytes:
    """A real page with a dispatch line of its own in its first paragraph."""
    number = feed * 1000 + item
    words = random.Random(number).choices(WORDS, k=12)
    line = f"Dispatch {feed}-{item}: {' '.join(words)}. ".encode()
    html = pages[number % len(pages)]
    first = re.search(rb"<p[\s>][^>]*>|<p>", html, re.IGNORECASE)
    return html[: first.end()] + line + html[first.end() :] if first else html + line


def feed_body(host: str, port: int, feed: int, items: int) -> bytes:
    now = time.time()
    entries = "".join(
        f"<item><title>Dispatch {feed}-{i}</title>"
        f"<link>http://{host}:{port}/p/{feed}-{i}.html</link><guid>{host}-{feed}-{i}</guid>"
        f"<pubDate>{formatdate(now - 60 * i, usegmt=True)}</pubDate></item>"
        for i in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>http://{host}/</link>{entries}</channel></rss>"
    ).encode()


def serve_site(
    corpus: Path, hosts: list[str], port: int, items: int, ready: Any, stop: Any
) -> None:
    """Child process: one threaded HTTP server per loopback address."""
    pages = load_pages(corpus)
    feeds: dict[tuple[str, int], bytes] = {}

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            host = str(self.server.server_address[0])  # type: ignore[index]
            name = self.path.rsplit("/", 1)[-1].split(".")[0]
            if self.path.startswith("/feed/"):
                number = int(name)
                body = feeds.setdefault((host, number), feed_body(host, port, number, items))
                kind = "application/rss+xml"
            elif self.path.startswith("/p/"):
                feed, item = (int(part) for part in name.split("-"))
                body, kind = unique_page(pages, feed, item), "text/html; charset=utf-8"
            else:
                self.send_error(404)  # robots.txt too: everything allowed
                return
            self.send_with_etag(body, kind)

    servers = [serve(Handler, host, port) for host in hosts]
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()


def start_site(corpus: Path, feeds: int, pages: int, hosts: int) -> tuple[Any, Any, list[str]]:
    """The feed servers in a child process: (process, its stop event, the feeds' URLs)."""
    addresses = [f"127.0.0.{2 + n}" for n in range(hosts)]
    port = free_port(addresses[0])
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    site = context.Process(
        target=serve_site, args=(corpus, addresses, port, pages, ready, stop), daemon=True
    )
    site.start()
    if not ready.wait(120):
        raise SystemExit("the feed servers did not start")
    urls = [f"http://{addresses[n % hosts]}:{port}/feed/{n}.rss" for n in range(feeds)]
    return site, stop, urls


def write_feeds_config(folder: Path, feed_urls: list[str]) -> Path:
    """A config folder whose feeds.yaml lists `feed_urls` (ids f0, f1, ...)."""
    config_dir = write_config_dir(folder, "http://unused", {})
    lines = "".join(f"  - {{id: f{n}, name: F{n}, url: '{u}'}}\n" for n, u in enumerate(feed_urls))
    (config_dir / "feeds.yaml").write_text("feeds:\n" + lines)
    return config_dir


def floor_worker(feed_urls: list[str], settings: Any, index: str, results: Any) -> None:
    """Child process of the floor: the plain work, nothing else."""
    import feedparser
    import trafilatura
    from elasticsearch import helpers

    client = httpx.Client(timeout=30)
    slots: dict[str, Any] = {}  # one connection per host in each of the 2 processes

    def get(url: str) -> bytes:
        host = httpx.URL(url).host
        with slots.setdefault(host, threading.Semaphore(1)):
            return client.get(url).content

    def fetch_feed(url: str) -> list[tuple[str, bytes]]:
        links = [entry.link for entry in feedparser.parse(get(url)).entries]
        return [(link, get(link)) for link in links]

    docs = []
    with ThreadPoolExecutor(16) as pool:
        for pages in pool.map(fetch_feed, feed_urls):
            for url, html in pages:
                extracted = trafilatura.extract(
                    html, url=url, output_format="json", with_metadata=True
                )
                if extracted:
                    docs.append({"_index": index, "_id": url, "_source": json.loads(extracted)})
    es = make_es_client(settings)  # the cluster's address and credentials, nothing else
    indexed, _ = helpers.bulk(es, docs, chunk_size=200, raise_on_error=False)
    results.put(indexed)


def run_floor(corpus_feeds: list[str], settings: Any, index: str) -> tuple[float, int]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    started = time.perf_counter()
    before, es_before = cpu_ticks(), es_cpu_seconds()
    own_before = children_cpu_seconds()
    halves = [corpus_feeds[0::2], corpus_feeds[1::2]]
    workers = [
        context.Process(target=floor_worker, args=(half, settings, index, results))
        for half in halves
    ]
    for worker in workers:
        worker.start()
    indexed = sum(results.get(timeout=RUN_TIMEOUT) for _ in workers)
    for worker in workers:
        worker.join()
    print(
        f"  floor: machine {busy_since(before):.0%} busy,"
        f" floor processes {children_cpu_seconds() - own_before:.0f} CPU-s, Elasticsearch"
        f" {es_cpu_seconds() - es_before:.0f} CPU-s",
        file=sys.stderr,
    )
    return time.perf_counter() - started, indexed


def newsmon_env(config_dir: Path, prefix: str, cache: Path) -> dict[str, str]:
    return {
        "NEWSMON_CONFIG_DIR": str(config_dir),
        "NEWSMON_INDEX_PREFIX": prefix,
        "NEWSMON_ALLOW_PRIVATE_NETWORKS": "1",
        "NEWSMON_HOST_MIN_DELAY_SECONDS": "0",
        "NEWSMON_CACHE_DIR": str(cache),
        # No scheduled run of its own while the benchmark triggers them.
        "NEWSMON_INGEST_INTERVAL_MINUTES": "0",
        **local_cluster_env(),
    }


@functools.cache
def local_cluster_env() -> dict[str, str]:
    """The local cluster's bench-* user, spelled out: the runs get cache folders of their
    own, where newsmon would not find the local cluster's credentials."""
    settings = load_settings({**os.environ, "NEWSMON_INDEX_PREFIX": BENCH_PREFIX})
    if not settings.uses_local_elasticsearch:
        return {}
    user = LocalElasticsearch(settings).credentials(BENCH_PREFIX)
    return {
        "NEWSMON_ES_USERNAME": user.username,
        "NEWSMON_ES_PASSWORD": user.password,
        "NEWSMON_ES_CA_CERTS": str(user.ca_certs),
    }


def run_newsmon(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    before, es_before = cpu_ticks(), es_cpu_seconds()
    own_before = children_cpu_seconds()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "newsmon"), "run", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    elapsed = time.perf_counter() - started
    own_cpu = children_cpu_seconds() - own_before
    print(
        f"  newsmon run: machine {busy_since(before):.0%} busy, newsmon {own_cpu:.0f} CPU-s,"
        f" Elasticsearch {es_cpu_seconds() - es_before:.0f} CPU-s",
        file=sys.stderr,
    )
    if done.returncode != 0:
        raise SystemExit(f"newsmon run failed: {done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)["totals"]


def run_dag(env: dict[str, str], work: Path, rounds: int, es: Any, prefix: str) -> dict[str, Any]:
    os.environ.update(env, AIRFLOW_HOME=str(work / "airflow"), NEWSMON_AIRFLOW_PORT=AIRFLOW_PORT)
    airflow = importlib.import_module("scripts.local_airflow")
    started = time.monotonic()
    if airflow.start() != 0:
        raise SystemExit("airflow standalone did not start")
    print(f"  airflow standalone up in {time.monotonic() - started:.0f} s", file=sys.stderr)
    try:
        token = airflow.api_token()
        # The first task after the API server starts waits 1-7 s on it (its execution
        # API warms up on first use): a deployment pays that once, not every run, so a
        # run of news_retag over the still empty index takes it here.
        with session(load_settings(), setup=True):
            pass
        warm_up = _timed_run(airflow.URL, token, {}, dag_id="news_retag")
        print(f"  warm-up run of news_retag: {warm_up['seconds']} s", file=sys.stderr)
        firsts = []
        for round_ in range(rounds):
            if round_:  # the same pages new again: the indices (and feed states) go
                _wait_until_idle(airflow.URL, token)
                delete_indices(es, prefix)
            first = _timed_run(airflow.URL, token, {})
            first["peak_memory_mb"] = max(_shard_results(airflow.URL, token, first["run_id"]))
            first["tasks"] = _task_times(airflow.URL, token, first["run_id"])
            first["indexed"] = count(es, prefix)
            print(f"  news_ingest round {round_ + 1}: {first}", file=sys.stderr)
            firsts.append(first)
        _wait_until_idle(airflow.URL, token)
        second = _timed_run(airflow.URL, token, {"force": True})  # every feed, all unchanged
    finally:
        airflow.stop()
    return {"firsts": firsts, "unchanged": second}


def _api(token: str) -> httpx.Client:
    """One client per exchange with the REST API: each httpx.get() builds a TLS context
    (~55 ms of CPU), and polling a run that way took 5 CPU-s from the run measured."""
    return httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _wait_until_idle(url: str, token: str, timeout: float = 300) -> None:
    """Until no DAG run is queued or running (news_alerts runs on each run's new
    articles): a round must not share the machine with the previous one's aftermath."""
    deadline = time.monotonic() + timeout
    with _api(token) as api:
        while time.monotonic() < deadline:
            busy = api.get(
                f"{url}/api/v2/dags/~/dagRuns", params={"state": ["queued", "running"]}
            ).json()
            if not busy.get("total_entries"):
                return
            time.sleep(1)
    raise SystemExit("Airflow did not become idle")


def cpu_ticks() -> tuple[int, int]:
    """(all, idle) CPU ticks of the machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def es_cpu_seconds() -> float:
    """CPU seconds used so far by the local Elasticsearch JVMs (0 when none runs here)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            cmdline = (stat.parent / "cmdline").read_bytes()
            if b"org.elasticsearch.bootstrap.Elasticsearch" in cmdline:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_since(before: tuple[int, int]) -> float:
    """Share of the machine's CPU time that was busy since `before` (all processes)."""
    total, idle = cpu_ticks()
    spent = total - before[0]
    return round(1 - (idle - before[1]) / spent, 2) if spent else 0.0


def _timed_run(
    url: str, token: str, conf: dict[str, Any], dag_id: str = "news_ingest"
) -> dict[str, Any]:
    run_id = f"bench-{uuid.uuid4().hex[:10]}"
    before = cpu_ticks()
    started = time.perf_counter()
    with _api(token) as api:
        for attempt in range(5):
            response = api.post(
                f"{url}/api/v2/dags/{dag_id}/dagRuns",
                json={"dag_run_id": run_id, "logical_date": None, "conf": conf},
            )
            # SQLite under a busy scheduler answers 500 now and then; 409 = made by a retry.
            if response.status_code < 500 or attempt == 4:
                break
            time.sleep(2)
        if response.status_code != 409:
            response.raise_for_status()
        while True:
            state = api.get(f"{url}/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                break
            if time.perf_counter() - started > RUN_TIMEOUT:
                raise SystemExit(f"{dag_id} run {run_id} did not end")
            time.sleep(0.5)
    elapsed = time.perf_counter() - started
    if state != "success":
        raise SystemExit(f"{dag_id} run {run_id} {state}")
    return {"run_id": run_id, "seconds": round(elapsed, 1), "cpu_busy": busy_since(before)}


def _task_times(url: str, token: str, run_id: str) -> list[str]:
    """Each task's start and end, in seconds from the run's start (where the time goes)."""
    base = f"{url}/api/v2/dags/news_ingest/dagRuns/{run_id}"
    with _api(token) as api:
        run = api.get(base).json()
        instances = api.get(f"{base}/taskInstances").json()
    started = datetime.fromisoformat(run["start_date"])
    times = []
    for ti in sorted(instances["task_instances"], key=lambda t: t["start_date"] or ""):
        begin = (datetime.fromisoformat(ti["start_date"]) - started).total_seconds()
        end = (datetime.fromisoformat(ti["end_date"]) - started).total_seconds()
        label = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
        times.append(f"{label} {begin:.1f}-{end:.1f} s")
    return times


def _shard_results(url: str, token: str, run_id: str) -> list[int]:
    """Each shard task's peak memory, from its XCom result."""
    base = f"{url}/api/v2/dags/news_ingest/dagRuns/{run_id}/taskInstances"
    peaks = []
    with _api(token) as api:
        mapped = api.get(f"{base}/ingest_shard/listMapped").json()
        for instance in mapped["task_instances"]:
            entry = api.get(
                f"{base}/ingest_shard/xcomEntries/return_value",
                params={"map_index": instance["map_index"], "deserialize": True},
            ).json()
            value = entry["value"]
            result = value if isinstance(value, dict) else json.loads(value)
            peaks.append(int(result["peak_memory_mb"]))
    return peaks


def delete_backups(es: Any, settings: Any) -> None:
    """The snapshots the news_backup DAG took while Airflow ran, and their repository."""
    name = backups.repository(settings)
    if name not in es.snapshot.get_repository():
        return
    for snapshot in backups.list_snapshots(es, settings):
        es.snapshot.delete(repository=name, snapshot=snapshot.name)
    es.snapshot.delete_repository(name=name)


def count(es: Any, prefix: str) -> int:
    es.indices.refresh(index=f"{prefix}articles")
    return int(es.count(index=f"{prefix}articles")["count"])


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the extraction corpus folder")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--pages", type=int, default=5, help="items per feed")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--skip-dag", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure each path this many times and report the median (runs here swing ±10%%)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="uncounted rounds of floor and run first: a freshly started Elasticsearch spends"
        " most of its CPU compiling its own code for the first few thousand requests",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    site, stop, feed_urls = start_site(args.corpus, args.feeds, args.pages, args.hosts)
    pages = args.feeds * args.pages
    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-ingest-"))
    # Every index of the benchmark starts with bench-: one user of the local cluster.
    settings = load_settings({**os.environ, "NEWSMON_INDEX_PREFIX": BENCH_PREFIX})
    es = make_es_client(settings)
    prefixes: list[str] = []
    result: dict[str, Any] = {"feeds": args.feeds, "pages": pages, "hosts": args.hosts}
    try:
        config_dir = write_feeds_config(work / "config", feed_urls)
        floors, runs = [], []
        # Alternating, so both see the same conditions; the warm-up rounds are not counted.
        for round_ in range(args.warmup + args.rounds):
            measured = round_ >= args.warmup
            label = "" if measured else " (warm-up)"
            prefix = f"bench-floor-{uuid.uuid4().hex[:8]}-"
            prefixes.append(prefix)
            seconds, indexed = run_floor(feed_urls, settings, f"{prefix}articles")
            if measured:
                floors.append({"seconds": round(seconds, 1), "indexed": indexed})
            print(f"  floor{label}: {seconds:.1f} s", file=sys.stderr)

            prefix = f"bench-run-{uuid.uuid4().hex[:8]}-"
            prefixes.append(prefix)
            cache = work / f"cache-run-{round_}"
            seconds, totals = run_newsmon(newsmon_env(config_dir, prefix, cache))
            if measured:
                runs.append({"seconds": round(seconds, 1), "indexed": count(es, prefix)})
            print(
                f"  newsmon run{label}: {seconds:.1f} s ({totals['indexed']} indexed)",
                file=sys.stderr,
            )
        result["floor"], result["run"] = _median(floors), _median(runs)

        if not args.skip_dag:
            prefix = f"bench-dag-{uuid.uuid4().hex[:8]}-"
            prefixes.append(prefix)
            env = newsmon_env(config_dir, prefix, work / "cache-dag")
            dag = run_dag(env, work, args.rounds, es, prefix)
            result["dag"] = _median(dag["firsts"])
            result["dag_unchanged_s"] = dag["unchanged"]["seconds"]
    finally:
        for prefix in prefixes:
            delete_indices(es, prefix)
            delete_backups(es, settings.model_copy(update={"index_prefix": prefix}))
        stop.set()
        site.join(timeout=10)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    floor_rate = result["floor"]["pages_per_s"]
    for path in ("run", "dag"):
        if path in result:
            result[path]["ratio_to_floor"] = round(result[path]["pages_per_s"] / floor_rate, 2)
    print(json.dumps(result, indent=2) if args.json else _readable(result))
    return 0


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median pages/s, with every round's pages/s alongside."""
    for numbers in rounds:
        numbers["pages_per_s"] = round(numbers["indexed"] / numbers["seconds"], 1)
    ranked = sorted(rounds, key=lambda numbers: numbers["pages_per_s"])
    return {**ranked[len(ranked) // 2], "rounds": [n["pages_per_s"] for n in rounds]}


def _readable(result: dict[str, Any]) -> str:
    per_feed = result["pages"] // result["feeds"]
    lines = [
        f"{result['feeds']} feeds x {per_feed} pages on {result['hosts']} loopback hosts "
        f"({result['pages']} pages)"
    ]
    labels = {"floor": "plain floor (2 processes)", "run": "newsmon run", "dag": "news_ingest DAG"}
    for path, label in labels.items():
        if path in result:
            numbers = result[path]
            ratio = numbers.get("ratio_to_floor")
            rounds = numbers["rounds"]
            lines.append(
                f"  {label}: {numbers['indexed']} pages in {numbers['seconds']} s = "
                f"{numbers['pages_per_s']} pages/s"
                + (f", {ratio}x the floor" if ratio else "")
                + (f" (median of {len(rounds)} rounds: {rounds})" if len(rounds) > 1 else "")
            )
    if "dag_unchanged_s" in result:
        lines.append(f"  news_ingest with nothing changed (forced): {result['dag_unchanged_s']} s")
        lines.append(f"  peak memory of a shard task: {result['dag']['peak_memory_mb']} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
