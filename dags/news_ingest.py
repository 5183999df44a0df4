"""news_ingest: poll every configured feed, one mapped task per feed, index new articles.

Publishes the `newsmon_new_articles` asset when a run indexed anything, which
starts the downstream DAGs. The DAG file only wires tasks to `pipeline.tasks`,
whose functions import the work when they run, so parsing stays cheap.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowSkipException

from pipeline import tasks

NEW_ARTICLES = Asset(name=tasks.NEW_ARTICLES_NAME, uri=tasks.NEW_ARTICLES_URI)

INTERVAL_MINUTES = int(os.environ.get("NEWSMON_INGEST_INTERVAL_MINUTES", "15"))


@dag(
    dag_id="news_ingest",
    schedule=timedelta(minutes=INTERVAL_MINUTES),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=4,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
    },
    tags=["newsmon", "ingest"],
    doc_md=__doc__,
)
def news_ingest() -> None:
    @task(retries=1)
    def list_feeds() -> list[str]:
        return tasks.due_feed_ids()

    @task(map_index_template="{{ task.op_kwargs['feed_id'] }}")
    def ingest_feed(feed_id: str) -> dict[str, Any]:
        return tasks.ingest_feed_by_id(feed_id)

    @task(trigger_rule="all_done", outlets=[NEW_ARTICLES])
    def publish_new_articles(results: list[dict[str, Any]], **context: Any) -> dict[str, int]:
        totals = tasks.total_results(results)
        print(f"run summary: {totals}")  # shown in this task's log in the Airflow UI
        if totals["indexed"] == 0:
            raise AirflowSkipException(f"nothing new indexed: {totals}")
        context["outlet_events"][NEW_ARTICLES].extra = totals
        return totals

    results = ingest_feed.expand(feed_id=list_feeds())
    publish_new_articles(results)  # type: ignore[arg-type]  # XComArg resolves to the list


news_ingest()
