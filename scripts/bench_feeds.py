"""Polling 1,000 feeds with per-host politeness on: feeds/s for a full pass, the second
(unchanged) pass with conditional GET, and peak memory.

    .venv/bin/python scripts/bench_feeds.py [--feeds 1000] [--hosts 200] [--json]

Needs the Elasticsearch newsmon uses (each feed's entries are checked against the
index in one round trip, as ingest does). Serves the feeds from a separate process:
one HTTP server per host name 127.0.0.2, 127.0.0.3, ... (all loopback), each feed with
20 items, ETag and 304 support. Polls them as `newsmon` does (guarded fetch, per-host
slots and spacing from the settings, feedparser, canonical URLs, one mget per feed)
with a pool of workers, feeds interleaved by host. Baseline in the same run: the
second pass without validators (plain GET and parse, as a poller without conditional
GET would do).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import socket
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import FeedConfig, Settings, load_settings  # noqa: E402
from pipeline.ingest.download import make_client  # noqa: E402
from pipeline.ingest.poll import poll_feed  # noqa: E402
from pipeline.models import Poll  # noqa: E402
from pipeline.store import ensure_indices, make_es_client  # noqa: E402
from pipeline.store.articles import existing_ids  # noqa: E402
from pipeline.store.feeds import FeedState  # noqa: E402
from pipeline.urls import article_id  # noqa: E402
from tests.conftest import delete_indices  # noqa: E402
from tests.support.loopback import QuietHandler, serve  # noqa: E402

LABELLED = REPO / "tests" / "fixtures" / "tagging" / "labelled.jsonl"
ITEMS = 20
WORKERS = 32


def feed_body(host: str, number: int, titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{titles[(number * ITEMS + i) % len(titles)]}</title>"
        f"<link>http://{host}/articles/{number}-{i}.html?utm_source=rss</link>"
        f"<guid>{host}-{number}-{i}</guid>"
        f"<pubDate>Fri, 20 Nov 2026 08:{i:02d}:00 GMT</pubDate>"
        f"<description>Item {i} of feed {number}: {titles[i % len(titles)]}</description></item>"
        for i in range(ITEMS)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {number} on {host}</title><link>http://{host}/</link>{items}"
        "</channel></rss>"
    ).encode()


def serve_feeds(hosts: list[str], port: int, ready: Any, stop: Any) -> None:
    """Child process: one threaded HTTP server per loopback address."""
    titles = [
        json.loads(line)["title"].replace("&", "and")
        for line in LABELLED.read_text().splitlines()
        if line
    ]

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            host = self.server.server_address[0]  # type: ignore[index]
            number = int(self.path.rsplit("/", 1)[-1].split(".")[0])
            body = feed_body(str(host), number, titles)
            self.send_with_etag(body, "application/rss+xml")

    servers = []
    for host in hosts:
        servers.append(serve(Handler, host, port))
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def run_pass(
    feeds: list[FeedConfig],
    settings: Settings,
    states: dict[str, FeedState] | None,
) -> tuple[float, dict[str, Poll]]:
    es = make_es_client(settings)
    client = make_client(settings)

    def poll(feed: FeedConfig) -> Poll:
        found = poll_feed(client, feed, settings, states.get(feed.id) if states else None)
        if found.entries:  # as ingest does: which entries are new, in one round trip
            existing_ids(es, settings, [article_id(entry.url) for entry in found.entries])
        return found

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        polls = dict(zip((f.id for f in feeds), pool.map(poll, feeds), strict=True))
    elapsed = time.perf_counter() - started
    client.close()
    es.close()
    return elapsed, polls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    hosts = [f"127.0.0.{2 + n}" for n in range(args.hosts)]
    port = free_port(hosts[0])
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Event(), context.Event()
    server = context.Process(target=serve_feeds, args=(hosts, port, ready, stop), daemon=True)
    server.start()
    if not ready.wait(60):
        raise SystemExit("the feed servers did not start")
    settings = load_settings().model_copy(
        update={
            "index_prefix": f"bench-feeds-{uuid.uuid4().hex[:8]}-",
            "allow_private_networks": True,  # the servers are on loopback
            "cache_dir": Path(tempfile.mkdtemp(prefix="newsmon-bench-feeds-")),
        }
    )
    # Interleaved by host, as a scheduler spreading its work would.
    feeds = [
        FeedConfig(
            id=f"feed-{n}",
            url=f"http://{hosts[n % len(hosts)]}:{port}/feed/{n}.rss",
            name=f"Feed {n}",
        )
        for n in range(args.feeds)
    ]
    es = make_es_client(settings)
    try:
        ensure_indices(es, settings)
        first_seconds, first = run_pass(feeds, settings, None)
        states = {
            fid: FeedState(fid, etag=p.etag, last_modified=p.last_modified, body_hash=p.body_hash)
            for fid, p in first.items()
        }
        second_seconds, second = run_pass(feeds, settings, states)
        baseline_seconds, _ = run_pass(feeds, settings, None)
    finally:
        delete_indices(es, settings.index_prefix)
        stop.set()
        server.join(timeout=10)
    entries = sum(len(p.entries) for p in first.values())
    not_modified = sum(1 for p in second.values() if p.status == "not_modified")
    result = {
        "feeds": args.feeds,
        "hosts": args.hosts,
        "host_min_delay_seconds": settings.host_min_delay_seconds,
        "host_max_connections": settings.host_max_connections,
        "entries_first_pass": entries,
        "first_pass_s": round(first_seconds, 1),
        "first_pass_feeds_per_s": round(args.feeds / first_seconds, 1),
        "second_pass_s": round(second_seconds, 1),
        "second_pass_304": not_modified,
        "second_pass_without_validators_s": round(baseline_seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.feeds} feeds on {args.hosts} hosts (per host: {settings.host_max_connections} "
            f"connections, {settings.host_min_delay_seconds} s apart), {ITEMS} items each"
        )
        print(
            f"  full pass: {result['first_pass_s']} s ({result['first_pass_feeds_per_s']} "
            f"feeds/s, {entries} entries; target < 60 s)"
        )
        print(
            f"  unchanged pass with conditional GET: {result['second_pass_s']} s, "
            f"{not_modified} answered 304 (target < 15 s); without validators "
            f"{result['second_pass_without_validators_s']} s"
        )
        print(f"  peak memory (this process): {result['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
