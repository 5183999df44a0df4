"""news_alerts: the alerts' catch-up, spike checks, digests and retries.

Instant alerts are matched and sent by news_ingest's feed tasks right after indexing.
This DAG runs whenever news_ingest publishes new articles (asset-triggered) to match
anything those tasks missed, and every NEWSMON_ALERTS_INTERVAL_MINUTES (10) to check
spike rules, send due hourly/daily digests and retry failed deliveries even when nothing
new arrives.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, DeltaTriggerTimetable, dag, task

from pipeline import tasks

NEW_ARTICLES = Asset(name=tasks.NEW_ARTICLES_NAME, uri=tasks.NEW_ARTICLES_URI)

# 0 turns the clock off: runs then come only from new articles (and by hand), as when a
# test wants no run of its own making.
INTERVAL_MINUTES = int(os.environ.get("NEWSMON_ALERTS_INTERVAL_MINUTES", "10"))
if INTERVAL_MINUTES > 0:
    clock = DeltaTriggerTimetable(timedelta(minutes=INTERVAL_MINUTES))
    SCHEDULE: AssetOrTimeSchedule | list[Asset] = AssetOrTimeSchedule(
        timetable=clock, assets=[NEW_ARTICLES]
    )
else:
    SCHEDULE = [NEW_ARTICLES]


@dag(
    dag_id="news_alerts",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["newsmon", "alerts"],
    doc_md=__doc__,
)
def news_alerts() -> None:
    @task
    def record_ingest_stats(**context: Any) -> dict[str, Any]:
        events = context.get("triggering_asset_events") or {}
        extras = [dict(event.extra) for asset_events in events.values() for event in asset_events]
        stats = tasks.ingest_stats(extras)
        print(f"ingest stats: {stats}")
        return stats

    @task
    def match_and_deliver() -> dict[str, Any]:
        return tasks.match_and_deliver()

    record_ingest_stats() >> match_and_deliver()


news_alerts()
