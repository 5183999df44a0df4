"""Every Airflow task's entry point: small JSON-able values in and out, nothing else.

DAG files import only this module, at parse time, so it imports nothing heavy at the
top: each function imports what it needs when the task runs. Besides the channels'
connection lookup, this is the only pipeline module that imports Airflow.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from pipeline.config import FeedConfig, Settings

# The Asset linking the DAGs: an event means "new articles were indexed".
NEW_ARTICLES_NAME = "newsmon_new_articles"
NEW_ARTICLES_URI = "newsmon://news-articles"
NEW_ARTICLES_ALIAS = "newsmon_new_articles_published"
ALERTS_LOOKBACK = timedelta(hours=2)  # events are create-only: a generous look-back is safe


def task_settings() -> Settings:
    """Settings for a DAG task: with `es_connection`, the cluster and its credentials come
    from that Airflow connection (its secrets backend, the metadata database or an
    AIRFLOW_CONN_* variable) instead of NEWSMON_ES_* variables."""
    from pipeline.channels.connections import airflow_connection
    from pipeline.config import load_settings
    from pipeline.errors import ConfigError, DeliveryError

    settings = load_settings()
    if not settings.es_connection:
        return settings
    try:
        found = airflow_connection(settings.es_connection)
    except DeliveryError as exc:
        raise ConfigError("es_connection", settings.es_connection, str(exc)) from None
    extra = dict(found.extra)
    fields = {
        "es_url": found.url,
        "es_username": found.login,
        "es_password": found.password,
        "es_api_key": extra.get("api_key"),
        "es_ca_certs": extra.get("ca_certs"),
        "es_ssl_fingerprint": extra.get("ssl_fingerprint"),
    }
    values = {**settings.model_dump(), **{k: v for k, v in fields.items() if v}}
    return type(settings).model_validate(values)


# A shard's own process (feeds, fetching, clustering, indexing) uses about a sixth of the
# CPU its extraction workers use, so one shard keeps several cores busy; every further
# shard repeats the start-up, the commits and the index refreshes. Measured on 2 cores
# (scripts/bench_ingest.py, 1,000 pages): 1 shard 42.9 s, 2 shards 49.3 s.
CORES_PER_SHARD = 4


def shard_count() -> int:
    """How many shard tasks news_ingest maps; read when the DAG file is parsed. A bad
    settings file is reported by the shard tasks, not by the DAG's import."""
    from pipeline.config import load_settings
    from pipeline.errors import ConfigError
    from pipeline.ingest.workers import default_processes

    try:
        configured = load_settings().ingest_shards
    except ConfigError:
        configured = None
    return configured or max(1, default_processes() // CORES_PER_SHARD)


def due_feeds(
    es: Elasticsearch,
    settings: Settings,
    shard: int = 0,
    shards: int = 1,
    force: bool = False,
    feed_ids: list[str] | None = None,
    now: datetime | None = None,
) -> list[FeedConfig]:
    """The feeds shard `shard` of `shards` polls now. A shard owns every `shards`-th
    configured feed, so the split never depends on when each task looks; of those, the
    ones due (each feed on its own schedule), all with `force`, and feeds named in
    `feed_ids` whether due or not."""
    from pipeline.config import select_feeds
    from pipeline.ingest.schedule import is_due
    from pipeline.store import feeds

    mine = select_feeds(settings, feed_ids or None)[shard::shards]
    if force or feed_ids:
        return mine
    states = feeds.load_states(es, settings, [feed.id for feed in mine])
    now = now or datetime.now(UTC)
    return [feed for feed in mine if is_due(states[feed.id], now, settings)]


def shard_label(shard: int, shards: int, feed_ids: list[str]) -> str:
    """What the Airflow UI shows for the shard's map index."""
    shown = ", ".join(feed_ids[:3]) + (", ..." if len(feed_ids) > 3 else "")
    return f"shard {shard + 1}/{shards}: {len(feed_ids)} feeds ({shown})"


def ingest_shard(
    shard: int = 0, shards: int = 1, force: bool = False, feed_ids: list[str] | None = None
) -> dict[str, Any]:
    """Ingest the feeds of shard `shard` that are due (concurrently, in one engine). The
    task succeeds when every feed was processed: a feed that failed is recorded in
    news-feeds and polled again on its own backoff, not by rerunning the shard. A config
    error fails it at once (retrying cannot fix a bad file).

    The `shards` of a run share the machine's cores: unless `ingest_processes` says
    otherwise, each gets cores // shards extraction workers, and with more shards than
    cores it extracts in its own process (the shard tasks are the parallelism)."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.errors import ConfigError
    from pipeline.ingest.engine import IngestContext, ingest_feeds
    from pipeline.ingest.workers import default_processes
    from pipeline.models import RunSummary
    from pipeline.store import session

    # One line per feed in the log, not one per Elasticsearch request.
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    try:
        settings = task_settings()
        with session(settings, setup=True) as es:
            feeds = due_feeds(es, settings, shard, shards, force, feed_ids)
        label = shard_label(shard, shards, [feed.id for feed in feeds])
        print(label)
        if not feeds:
            return {"label": label, **RunSummary(feeds=[]).totals()}
        processes = settings.ingest_processes
        if processes is None:
            processes = default_processes() // max(1, shards)
        ctx = IngestContext.open(settings, setup_indices=False, processes=processes)
    except ConfigError as exc:
        raise AirflowFailException(str(exc)) from exc
    try:
        summary = ingest_feeds(ctx, feeds, progress=_log_feed)
        peak = ctx.pages.peak_memory_mb()
    finally:
        ctx.close()
    return {
        "label": label,
        **summary.totals(),
        "failed_feeds": {f.feed_id: f.error for f in summary.feeds if not f.ok},
        "failures": summary.failures[:20],
        "peak_memory_mb": peak,
    }


def _log_feed(result: Any) -> None:
    """One line per feed in the task log."""
    status = "ok" if result.ok else f"FAILED: {result.error}"
    print(
        f"{result.feed_id}: {status} ({result.poll}; entries {result.entries}, new {result.new},"
        f" indexed {result.indexed}, failed {result.failed})"
    )


def total_results(results: list[dict[str, Any]]) -> dict[str, int]:
    """The run's totals from the shard tasks' results."""
    totals: dict[str, int] = {}
    for result in results:
        for key, value in result.items():
            if isinstance(value, int) and key != "peak_memory_mb":
                totals[key] = totals.get(key, 0) + value
    return totals


def retag_all() -> dict[str, Any]:
    """news_retag: re-tag every indexed article after topics.yaml changes."""
    from pipeline.config import load_topics
    from pipeline.ingest.retag import retag
    from pipeline.ingest.tag import Tagger
    from pipeline.store import session

    settings = task_settings()
    with session(settings) as es:
        summary = retag(es, settings, Tagger(load_topics(settings)))
    return asdict(summary)


def backup() -> dict[str, Any]:
    """news_backup: snapshot every index, then keep the newest `backup_keep`."""
    from pipeline.store import backups, session

    settings = task_settings()
    with session(settings) as es:
        snapshot = backups.create(es, settings)
        deleted = backups.prune(es, settings, settings.backup_keep)
    logging.getLogger(__name__).info(
        "snapshot %s of %d indices; deleted %s", snapshot.name, len(snapshot.indices), deleted
    )
    return {"snapshot": snapshot.name, "indices": snapshot.indices, "deleted": deleted}


def ingest_stats(asset_extras: list[dict[str, Any]], window_hours: int = 24) -> dict[str, Any]:
    """Totals carried by the triggering asset events, plus what the index holds now."""
    from pipeline.store import articles, session

    settings = task_settings()
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

    return run_alerts(task_settings(), since=datetime.now(UTC) - ALERTS_LOOKBACK)
