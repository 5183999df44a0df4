"""Every Airflow task's entry point: small JSON-able values in and out, nothing else.

DAG files import only this module, at parse time, so it imports nothing heavy at the
top: each function imports what it needs when the task runs. Besides the channels'
connection lookup, this is the only pipeline module that imports Airflow.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

# The Asset linking the DAGs: an event means "new articles were indexed".
NEW_ARTICLES_NAME = "newsmon_new_articles"
NEW_ARTICLES_URI = "newsmon://news-articles"
ALERTS_LOOKBACK = timedelta(hours=2)  # events are create-only: a generous look-back is safe


def due_feed_ids() -> list[str]:
    """The feeds due for a poll now (each has its own adaptive interval); also sets up
    the indices once, so the per-feed tasks need not."""
    from pipeline.config import load_feeds, load_settings
    from pipeline.ingest.schedule import is_due
    from pipeline.store import feeds, session

    settings = load_settings()
    with session(settings, setup=True) as es:
        configured = load_feeds(settings)
        states = feeds.load_states(es, settings, [feed.id for feed in configured])
    now = datetime.now(UTC)
    return [feed.id for feed in configured if is_due(states[feed.id], now)]


def ingest_feed_by_id(feed_id: str) -> dict[str, Any]:
    """Ingest one feed; retryable feed failures raise so Airflow retries the task, and a
    config error fails it at once (retrying cannot fix a bad file)."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.config import load_settings
    from pipeline.errors import ConfigError
    from pipeline.ingest.engine import IngestContext, ingest_feed, select_feeds

    try:
        settings = load_settings()
        (feed,) = select_feeds(settings, [feed_id])
        ctx = IngestContext.open(settings, setup_indices=False)  # due_feed_ids did it
    except ConfigError as exc:
        raise AirflowFailException(str(exc)) from exc
    try:
        result = ingest_feed(ctx, feed, raise_transient=True)
    finally:
        ctx.close()
    return asdict(result)


def total_results(results: list[dict[str, Any]]) -> dict[str, int]:
    """The run's totals from the feed tasks' results."""
    from pipeline.models import FeedResult, RunSummary

    return RunSummary(feeds=[FeedResult(**result) for result in results]).totals()


def retag_all() -> dict[str, Any]:
    """news_retag: re-tag every indexed article after topics.yaml changes."""
    from pipeline.config import load_settings, load_topics
    from pipeline.ingest.retag import retag
    from pipeline.ingest.tag import Tagger
    from pipeline.store import session

    settings = load_settings()
    with session(settings) as es:
        summary = retag(es, settings, Tagger(load_topics(settings)))
    return asdict(summary)


def ingest_stats(asset_extras: list[dict[str, Any]], window_hours: int = 24) -> dict[str, Any]:
    """Totals carried by the triggering asset events, plus what the index holds now."""
    from pipeline.config import load_settings
    from pipeline.store import articles, session

    settings = load_settings()
    since = (datetime.now(UTC) - timedelta(hours=window_hours)).isoformat()
    with session(settings) as es:
        recent = articles.count(es, settings, {"range": {"fetched_at": {"gte": since}}})
        total = articles.count(es, settings)
    indexed = sum(int(extra.get("indexed", 0)) for extra in asset_extras)
    return {
        "events": len(asset_extras),
        "indexed_by_events": indexed,
        f"articles_last_{window_hours}h": recent,
        "articles_total": total,
    }


def match_and_deliver() -> dict[str, Any]:
    """news_alerts: catch-up matching, spike checks, due digests and retries."""
    from pipeline.alerts.cycle import run_alerts
    from pipeline.config import load_settings

    return run_alerts(load_settings(), since=datetime.now(UTC) - ALERTS_LOOKBACK)
