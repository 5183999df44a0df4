"""news_ingest: poll the feeds that are due, in a few shard tasks, and index new articles.

Each `ingest_shard` task owns a fixed share of the configured feeds (every n-th), picks
those due now (each feed is polled about as often as it publishes, at most an hour
apart), polls them and fetches their pages concurrently and extracts and tags them on
every core, so a task's start-up is paid once per shard, not once per feed. The number
of shards is read when this file is parsed (`ingest_shards`, default one per 4 cores). A
feed that fails is recorded and retried on its own backoff; the shard task still
succeeds. Trigger with `force` to poll every feed now (or `feeds` to poll just those).

A shard task that indexed anything publishes the `newsmon_new_articles` asset (through an
alias, so a shard with nothing new publishes nothing), with its totals on the event; that
starts the downstream DAGs. No separate publishing task: it cost every run another task
start (~2 s at the end of the run). The DAG file only wires tasks to `pipeline.tasks`, whose
functions import the work when they run, so parsing stays cheap.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetAlias, Param, dag, get_current_context, task

from pipeline import tasks

NEW_ARTICLES = Asset(name=tasks.NEW_ARTICLES_NAME, uri=tasks.NEW_ARTICLES_URI)
# A task's plain outlet emits an event whenever the task succeeds; an alias emits only
# the events the task adds to it.
PUBLISHED = AssetAlias(name=tasks.NEW_ARTICLES_ALIAS)

# 0 turns the schedule off: runs are then triggered (UI, REST API) only.
INTERVAL_MINUTES = int(os.environ.get("NEWSMON_INGEST_INTERVAL_MINUTES", "15"))
# A shard task that failed as a whole (its worker lost, Elasticsearch down at its start)
# is retried after this, then twice as long.
RETRY_SECONDS = int(os.environ.get("NEWSMON_INGEST_RETRY_SECONDS", "60"))
SHARDS = tasks.shard_count()


@dag(
    dag_id="news_ingest",
    schedule=timedelta(minutes=INTERVAL_MINUTES) if INTERVAL_MINUTES > 0 else None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=RETRY_SECONDS),
        "retry_exponential_backoff": True,
    },
    params={
        "force": Param(
            False, type="boolean", description="Poll every feed now, not only those due."
        ),
        "feeds": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Poll only these feed ids (due or not). Empty: the due feeds.",
        ),
    },
    tags=["newsmon", "ingest"],
    doc_md=__doc__,
)
def news_ingest() -> None:
    # The label is set by the task itself: what the shard held (rendered after the run).
    @task(map_index_template="{{ shard_label }}", outlets=[PUBLISHED])
    def ingest_shard(shard: int, **context: Any) -> dict[str, Any]:
        params = context["params"]
        result = tasks.ingest_shard(
            shard, SHARDS, force=bool(params["force"]), feed_ids=list(params["feeds"])
        )
        get_current_context()["shard_label"] = result["label"]  # type: ignore[typeddict-unknown-key]
        totals = tasks.total_results([result])
        print(f"shard summary: {totals}")
        if totals.get("indexed", 0):
            context["outlet_events"][PUBLISHED].add(NEW_ARTICLES, extra=totals)
        return result

    ingest_shard.expand(shard=list(range(SHARDS)))


news_ingest()
