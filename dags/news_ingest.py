"""news_ingest: poll every configured feed, one mapped task per feed, index new articles.

Publishes the `newsmon_new_articles` asset when a run indexed anything, which
starts the downstream DAGs. The DAG file only wires tasks; the work lives in
`pipeline.ingest`, imported inside the tasks so parsing stays cheap.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pipeline.assets import NEW_ARTICLES_NAME, NEW_ARTICLES_URI

NEW_ARTICLES = Asset(name=NEW_ARTICLES_NAME, uri=NEW_ARTICLES_URI)

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
        from pipeline.ingest import due_feed_ids

        return due_feed_ids()

    @task(map_index_template="{{ task.op_kwargs['feed_id'] }}")
    def ingest_feed(feed_id: str) -> dict[str, Any]:
        from pipeline.errors import ConfigError
        from pipeline.ingest import ingest_feed_by_id

        try:
            return ingest_feed_by_id(feed_id)
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from exc  # retrying cannot fix a bad file

    @task(trigger_rule="all_done", outlets=[NEW_ARTICLES])
    def publish_new_articles(results: list[dict[str, Any]], **context: Any) -> dict[str, int]:
        from pipeline.ingest import total_results

        totals = total_results(results)
        print(f"run summary: {totals}")  # shown in this task's log in the Airflow UI
        if totals["indexed"] == 0:
            raise AirflowSkipException(f"nothing new indexed: {totals}")
        context["outlet_events"][NEW_ARTICLES].extra = totals
        return totals

    results = ingest_feed.expand(feed_id=list_feeds())
    publish_new_articles(results)  # type: ignore[arg-type]  # XComArg resolves to the list


news_ingest()
