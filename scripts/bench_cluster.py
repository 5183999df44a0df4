"""Distributed-mode throughput: news_ingest on the CeleryExecutor with two Celery workers
against one, as a ratio in one run (scripts/local_cluster.py on this machine).

    .venv/bin/python scripts/bench_cluster.py CORPUS/extraction [--feeds 200] [--rounds 1]

Needs the Elasticsearch newsmon uses (`newsmon es start`) and `make cluster-deps`. Serves
the feeds of scripts/bench_ingest.py (`--feeds` x 5 unique real pages on 20 loopback
hosts, politeness delay 0), starts the local cluster on its own ports and state folder
with two shards per run and one extraction process per shard, and times news_ingest
runs triggered through the REST API to their end: with both workers, then with one
(the other stopped), alternating for `--rounds`, the indices emptied between runs.
Prints pages/s of each and the ratio. On a machine of C cores more workers than C/2
(each shard: fetching threads and one extraction process) only share the same cores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.config import load_settings
from pipeline.store import make_es_client
from scripts import bench_ingest
from tests.conftest import delete_indices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the extraction corpus folder")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    site, stop, feed_urls = bench_ingest.start_site(args.corpus, args.feeds, pages=5, hosts=20)
    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-cluster-"))
    work.chmod(0o755)  # PostgreSQL (as `postgres`) keeps its data in the cache folder here
    prefix = f"{bench_ingest.BENCH_PREFIX}cluster-{uuid.uuid4().hex[:8]}-"
    config_dir = bench_ingest.write_feeds_config(work / "config", feed_urls)
    os.environ.update(
        bench_ingest.newsmon_env(config_dir, prefix, work / "cache"),
        NEWSMON_INGEST_SHARDS="2",
        NEWSMON_INGEST_PROCESSES="1",
        NEWSMON_CLUSTER_HOME=str(work / "cluster"),
        NEWSMON_CLUSTER_PORT=str(bench_ingest.free_port("127.0.0.1")),
        NEWSMON_CLUSTER_PG_PORT=str(bench_ingest.free_port("127.0.0.1")),
        NEWSMON_CLUSTER_REDIS_PORT=str(bench_ingest.free_port("127.0.0.1")),
    )
    cluster = importlib.import_module("scripts.local_cluster")  # reads the ports above
    es = make_es_client(load_settings())
    pages = args.feeds * 5
    result: dict[str, Any] = {"feeds": args.feeds, "pages": pages, "two": [], "one": []}
    finished = False
    try:
        if cluster.start() != 0:
            raise SystemExit("the local cluster did not start")
        token = cluster.api_token()
        bench_ingest._timed_run(cluster.URL, token, {}, dag_id="news_retag")  # warm-up
        for _ in range(args.rounds):
            for workers in ("two", "one"):
                if workers == "one":
                    cluster.stop_component("worker2")
                elif cluster.start() != 0:  # worker2 back
                    raise SystemExit("worker2 did not start again")
                bench_ingest._wait_until_idle(cluster.URL, token)
                delete_indices(es, prefix)  # every page new again, every feed due
                run = bench_ingest._timed_run(cluster.URL, token, {})
                indexed = bench_ingest.count(es, prefix)
                rate = round(indexed / run["seconds"], 1)
                result[workers].append(rate)
                print(f"  {workers} worker(s): {run} ({indexed} indexed)", file=sys.stderr)
        finished = True
    finally:
        cluster.stop()
        delete_indices(es, prefix)
        stop.set()
        site.join(timeout=10)
        shutil.rmtree(load_settings().cache_dir / f"postgres-{cluster.PG_PORT}", ignore_errors=True)
        if finished:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"  logs kept in {work / 'cluster'}", file=sys.stderr)
    two, one = (
        sorted(result["two"])[len(result["two"]) // 2],
        sorted(result["one"])[len(result["one"]) // 2],
    )
    result["ratio_two_to_one"] = round(two / one, 2)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.feeds} feeds x 5 pages ({pages}), news_ingest on the CeleryExecutor:\n"
            f"  one worker:  {one} pages/s\n  two workers: {two} pages/s,"
            f" {result['ratio_two_to_one']}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
