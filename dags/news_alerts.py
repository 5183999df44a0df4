"""news_alerts: runs whenever news_ingest publishes new articles (asset-triggered).

For now it records ingest statistics; keyword alerting will live here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, dag, task

from pipeline.assets import NEW_ARTICLES_NAME, NEW_ARTICLES_URI

NEW_ARTICLES = Asset(name=NEW_ARTICLES_NAME, uri=NEW_ARTICLES_URI)


@dag(
    dag_id="news_alerts",
    schedule=[NEW_ARTICLES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["newsmon", "alerts"],
    doc_md=__doc__,
)
def news_alerts() -> None:
    @task
    def record_ingest_stats(**context: Any) -> dict[str, Any]:
        from pipeline.stats import ingest_stats

        events = context.get("triggering_asset_events") or {}
        extras = [dict(event.extra) for asset_events in events.values() for event in asset_events]
        stats = ingest_stats(extras)
        print(f"ingest stats: {stats}")
        return stats

    record_ingest_stats()


news_alerts()
