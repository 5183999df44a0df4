"""news_retag: re-tag every indexed article in place after config/topics.yaml changes.

Triggered by hand (no schedule). Nothing is fetched again; only documents whose
tags changed are written, so rerunning it is harmless.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import dag, task

from pipeline import tasks


@dag(
    dag_id="news_retag",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["newsmon", "tagging"],
    doc_md=__doc__,
)
def news_retag() -> None:
    @task
    def retag_articles() -> dict[str, Any]:
        return tasks.retag_all()

    retag_articles()


news_retag()
