"""news_backup: a daily snapshot of every newsmon index (articles, feeds, alert rules
and events, saved searches) with their aliases, keeping the newest `backup_keep` (7).

Restore with `newsmon backup restore NAME` (see `newsmon backup list`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

from pipeline import tasks


@dag(
    dag_id="news_backup",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["newsmon", "operations"],
    doc_md=__doc__,
)
def news_backup() -> None:
    @task
    def snapshot_indices() -> dict[str, Any]:
        return tasks.backup()

    snapshot_indices()


news_backup()
