"""Time from a new item appearing in a feed to its alert arriving, through a real
`airflow standalone` running newsmon's DAGs.

    .venv/bin/python scripts/bench_airflow_alerts.py [--rounds 6] [--json]

Needs the Elasticsearch newsmon uses (`newsmon es start`). Starts its own feed server
and webhook receiver on 127.0.0.1, its own Airflow (a temporary AIRFLOW_HOME, port
8795) with news_ingest polling every minute, and indices of its own (deleted after).
Two measurements:
  triggered  the item is added and a news_ingest run is triggered at once through the
             REST API with `force` (poll every feed now, as an analyst's "poll now"
             does): what the pipeline itself costs (scheduling, task start-up, fetch,
             index, match, deliver); target p95 <= 30 s;
  scheduled  the item is added at a random moment and the 1-minute schedule picks it
             up: the feed publishes every minute or two, so it is polled on every run
             (adds the wait for the next run); target p95 <= interval + 60 s.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.config import load_settings  # noqa: E402
from pipeline.ingest.extract import MIN_TEXT_CHARS  # noqa: E402
from pipeline.store import make_es_client  # noqa: E402
from tests.conftest import delete_indices  # noqa: E402
from tests.support.fixture_site import write_config_dir  # noqa: E402
from tests.support.live_feed import LiveFeed  # noqa: E402
from tests.support.receivers import HttpReceiver  # noqa: E402

LABELLED = REPO / "tests" / "fixtures" / "tagging" / "labelled.jsonl"
PROBE = "latencyprobe"
ARRIVAL_TIMEOUT = 240


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="items per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    stories = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    # A story shorter than an article (some labelled ones are two sentences) would be
    # refused by extraction: no alert would come.
    stories = [story for story in stories if len(story["text"]) >= MIN_TEXT_CHARS + 50]
    random.Random(3).shuffle(stories)

    work = Path(tempfile.mkdtemp(prefix="newsmon-airflow-bench-"))
    feed, hook = LiveFeed(), HttpReceiver()
    config_dir = write_config_dir(work / "config", feed.base_url, {})
    (config_dir / "feeds.yaml").write_text(
        f"feeds:\n  - id: probe\n    name: Latency probe\n    url: {feed.url}\n"
    )
    (config_dir / "alerts.yaml").write_text(
        f'channels:\n  hook: {{type: webhook, url: "{hook.url}"}}\n'
        f"rules:\n  - id: probe\n    query: {PROBE}\n    channels: [hook]\n"
    )
    prefix = f"bench-airflow-{uuid.uuid4().hex[:8]}-"
    os.environ.update(
        AIRFLOW_HOME=str(work / "airflow"),
        NEWSMON_AIRFLOW_PORT="8795",
        NEWSMON_CONFIG_DIR=str(config_dir),
        NEWSMON_INDEX_PREFIX=prefix,
        NEWSMON_ALLOW_PRIVATE_NETWORKS="1",
        NEWSMON_INGEST_INTERVAL_MINUTES="1",
    )
    airflow = importlib.import_module("scripts.local_airflow")  # reads the variables above
    settings = load_settings()
    es = make_es_client(settings)
    results: dict[str, list[float]] = {"triggered": [], "scheduled": []}
    try:
        started = time.monotonic()
        if airflow.start() != 0:
            return 1
        print(f"airflow standalone up in {time.monotonic() - started:.0f} s", file=sys.stderr)
        token = airflow.api_token()
        for mode in ("triggered", "scheduled"):
            for _ in range(args.rounds):
                story = stories.pop()
                if mode == "scheduled":
                    time.sleep(random.uniform(0, 60))  # appear at any moment of the interval
                seen = len(hook.received)
                # In the headline: extraction rightly trims a short trailing line.
                feed.add(f"{story['title']} ({PROBE})", story["text"])
                appeared = time.time()
                if mode == "triggered":
                    _trigger(airflow.URL, token)
                arrived = _wait_for_alert(hook, seen)
                results[mode].append(arrived - appeared)
                print(f"  {mode}: alert after {arrived - appeared:.1f} s", file=sys.stderr)
    finally:
        airflow.stop()
        delete_indices(es, prefix)
        feed.stop()
        hook.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        mode: {
            "alerts": len(values),
            "p50_s": round(statistics.median(values), 1),
            "p95_s": round(_p95(values), 1),
            "max_s": round(max(values), 1),
        }
        for mode, values in results.items()
        if values
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for mode, numbers in summary.items():
            print(
                f"{mode}: new feed item -> webhook alert p50 {numbers['p50_s']} s, "
                f"p95 {numbers['p95_s']} s, max {numbers['max_s']} s over "
                f"{numbers['alerts']} items"
            )
    return 0


def _p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def _trigger(url: str, token: str) -> None:
    """Start a forced news_ingest run now; retried, as SQLite may be busy under the
    scheduler."""
    for attempt in range(5):
        response = httpx.post(
            f"{url}/api/v2/dags/news_ingest/dagRuns",
            json={
                "dag_run_id": f"probe-{uuid.uuid4().hex[:12]}",
                "logical_date": None,
                "conf": {"force": True},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code < 500:
            break
        print(f"  trigger answered {response.status_code}, retrying", file=sys.stderr)
        time.sleep(1 + attempt)
    response.raise_for_status()


def _wait_for_alert(hook: HttpReceiver, seen: int) -> float:
    deadline = time.monotonic() + ARRIVAL_TIMEOUT
    while len(hook.received) <= seen:
        if time.monotonic() > deadline:
            raise SystemExit(f"no alert within {ARRIVAL_TIMEOUT} s")
        time.sleep(0.1)
    return time.time()


if __name__ == "__main__":
    sys.exit(main())
