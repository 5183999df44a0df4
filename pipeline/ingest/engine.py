"""The ingest engine: poll -> fetch -> extract -> dedup -> tag -> index, feed by feed,
then match what was indexed against the alert rules. `newsmon run`, the news_ingest
DAG's tasks and WebSub pushes all go through here.

A feed's failure is recorded in its FeedResult and never stops other feeds. Pages
that fail are not indexed, so the next run simply tries them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError

from pipeline import config
from pipeline.alerts.cycle import run_alerts
from pipeline.alerts.delivery import deliver_pending
from pipeline.alerts.matching import match_articles
from pipeline.errors import (
    ConfigError,
    DeliveryError,
    FeedParseError,
    FetchError,
    TransientFetchError,
)
from pipeline.ingest import schedule, websub
from pipeline.ingest.dedup import assign_clusters
from pipeline.ingest.download import make_client
from pipeline.ingest.extract import extract
from pipeline.ingest.fetch import fetch_page
from pipeline.ingest.poll import poll_feed
from pipeline.ingest.rss import parse_feed
from pipeline.ingest.tag import Tagger, tag_article
from pipeline.models import Article, FeedEntry, FeedResult, RunSummary, TaggedArticle
from pipeline.store import articles as article_store
from pipeline.store import connect
from pipeline.store import feeds as feed_store
from pipeline.store.feeds import FeedState
from pipeline.urls import article_id

logger = logging.getLogger(__name__)
AIRFLOW_RETRY_SECONDS = 60  # news_ingest's first retry delay


@dataclass
class IngestContext:
    settings: config.Settings
    http: httpx.Client
    es: Elasticsearch
    tagger: Tagger
    alerts: config.AlertsConfig | None  # None: no alerts.yaml, or a broken one

    @classmethod
    def open(cls, settings: config.Settings, setup_indices: bool = True) -> IngestContext:
        es = connect(settings, setup=setup_indices)
        tagger = Tagger(config.load_topics(settings))
        return cls(settings, make_client(settings), es, tagger, _alerts_config(settings))

    def close(self) -> None:
        self.http.close()
        self.es.close()


def ingest_feed(
    ctx: IngestContext, feed: config.FeedConfig, *, raise_transient: bool = False
) -> FeedResult:
    """Ingest one feed. With raise_transient, a retryable feed failure is re-raised after
    it is recorded (Airflow then retries the task)."""
    result = FeedResult(feed_id=feed.id)
    state = feed_store.load_states(ctx.es, ctx.settings, [feed.id])[feed.id]
    try:
        poll = poll_feed(ctx.http, feed, ctx.settings, state)
    except (FetchError, FeedParseError) as exc:
        result.ok, result.error, result.poll = False, str(exc), "failed"
        result.retry_after = getattr(exc, "retry_after", None)
        _record(ctx, feed, result, state)
        # Airflow retries a transient failure within minutes, unless the server asked
        # for a longer pause: then the feed's next poll time honours Retry-After.
        soon = (result.retry_after or 0) <= AIRFLOW_RETRY_SECONDS
        if raise_transient and isinstance(exc, TransientFetchError) and soon:
            raise
        return result
    result.poll = poll.status
    articles = _ingest_entries(ctx, poll.entries, result)
    # Validators are kept only when nothing retryable failed: otherwise the next poll
    # must read the whole feed again to retry those entries.
    complete = result.retryable == 0
    state.etag = poll.etag if complete else None
    state.last_modified = poll.last_modified if complete else None
    state.body_hash = poll.body_hash if complete else None
    if poll.hub and ctx.settings.websub_callback_url:
        websub.keep_subscribed(ctx.http, ctx.es, ctx.settings, feed, poll.hub, poll.topic, state)
    _record(ctx, feed, result, state)
    if result.indexed:
        _alert_new_articles(ctx, articles, result)
    return result


def ingest_pushed(
    ctx: IngestContext, feed: config.FeedConfig, body: bytes, content_type: str | None
) -> FeedResult:
    """A feed body pushed by a WebSub hub: the same path as a poll, from parsing on."""
    result = FeedResult(feed_id=feed.id, poll="pushed")
    try:
        entries = parse_feed(feed.id, body, base_url=feed.url, content_type=content_type)
    except FeedParseError as exc:
        result.ok, result.error = False, str(exc)
        return result
    articles = _ingest_entries(ctx, entries[: ctx.settings.max_entries_per_feed], result)
    feed_store.record_result(ctx.es, ctx.settings, result, feed.url, feed.name)
    if result.indexed:
        _alert_new_articles(ctx, articles, result)
    return result


def _ingest_entries(
    ctx: IngestContext, entries: list[FeedEntry], result: FeedResult
) -> list[TaggedArticle]:
    """Known entries skipped (one round trip), new ones fetched, extracted, clustered,
    tagged and indexed; counts go into `result`."""
    result.entries = len(entries)
    ids = {entry.url: article_id(entry.url) for entry in entries}
    known = article_store.existing_ids(ctx.es, ctx.settings, list(ids.values()))
    new_entries = [e for e in entries if ids[e.url] not in known]
    result.new = len(new_entries)
    result.duplicate = len(entries) - len(new_entries)
    extracted = [a for a in (_fetch_and_extract(ctx, e, result) for e in new_entries) if a]
    result.extracted = len(extracted)
    now = datetime.now(UTC)
    articles = [
        tag_article(ctx.tagger, article, now)
        for article in assign_clusters(ctx.es, ctx.settings, extracted)
    ]
    bulk = article_store.create(ctx.es, ctx.settings, articles)
    result.indexed = bulk.created
    if bulk.created:
        # Make the new articles searchable now: near-duplicate lookups of the next feed
        # (in this process or another worker) search for them.
        article_store.refresh(ctx.es, ctx.settings)
    result.near_duplicate = sum(1 for item in articles if item.article.duplicate_of)
    result.duplicate += bulk.duplicates
    result.failed += len(bulk.errors)
    result.retryable += len(bulk.errors)  # an indexing error is worth another try
    result.failures.extend(bulk.errors)
    return articles


def _record(
    ctx: IngestContext, feed: config.FeedConfig, result: FeedResult, state: FeedState
) -> None:
    state = schedule.after_poll(state, result, feed, ctx.settings, datetime.now(UTC))
    feed_store.record_result(ctx.es, ctx.settings, result, feed.url, feed.name, state)


def _alerts_config(settings: config.Settings) -> config.AlertsConfig | None:
    if not (settings.config_dir / "alerts.yaml").exists():
        return None
    try:
        return config.load_alerts(settings)
    except ConfigError as exc:
        # A broken alerts.yaml must not stop ingest; news_alerts fails on it loudly.
        logger.warning("alerts are off for this run: %s", exc)
        return None


def _alert_new_articles(
    ctx: IngestContext, articles: list[TaggedArticle], result: FeedResult
) -> None:
    """Match what this feed just indexed and deliver at once: seconds after indexing
    instead of at the next news_alerts run. Errors are recorded, not raised: the
    news_alerts catch-up matches anything missed here."""
    if ctx.alerts is None:
        return
    hits = [article_store.hit(item) for item in articles]
    try:
        matched = match_articles(ctx.es, ctx.settings, ctx.alerts, hits)
        result.alerts = matched.events_created
        result.failures += [f"alerts: {error}" for error in matched.errors]
        if matched.events_created:
            delivered = deliver_pending(ctx.es, ctx.settings, ctx.alerts)
            result.alerts_delivered = delivered.delivered
            result.failures += [f"alerts: {error}" for error in delivered.errors]
    except (ApiError, EsConnectionError, DeliveryError) as exc:
        result.failures.append(f"alerts: {exc}")


def _fetch_and_extract(ctx: IngestContext, entry: FeedEntry, result: FeedResult) -> Article | None:
    try:
        page = fetch_page(ctx.http, entry, ctx.settings)
    except FetchError as exc:
        result.failed += 1
        result.retryable += isinstance(exc, TransientFetchError)
        result.failures.append(str(exc))
        return None
    extraction = extract(page.body, entry.url, entry)
    if extraction.article is None:
        result.failed += 1
        result.failures.append(f"{entry.url}: {extraction.problem}")
    return extraction.article


def run_cycle(
    settings: config.Settings,
    feed_ids: list[str] | None = None,
    progress: Callable[[FeedResult], None] | None = None,
) -> RunSummary:
    feeds = select_feeds(settings, feed_ids)
    ctx = IngestContext.open(settings)
    try:
        return ingest_feeds(ctx, feeds, progress)
    finally:
        ctx.close()


def run_cycle_with_alerts(
    settings: config.Settings,
    feed_ids: list[str] | None = None,
    progress: Callable[[FeedResult], None] | None = None,
) -> tuple[RunSummary, dict[str, Any]]:
    """`newsmon run`: ingest, then match what this run indexed and deliver at once."""
    started = datetime.now(UTC)
    summary = run_cycle(settings, feed_ids, progress)
    return summary, run_alerts(settings, since=started)


def ingest_feeds(
    ctx: IngestContext,
    feeds: list[config.FeedConfig],
    progress: Callable[[FeedResult], None] | None = None,
) -> RunSummary:
    results = []
    for feed in feeds:
        try:
            result = ingest_feed(ctx, feed)
        except (EsConnectionError, ApiError) as exc:
            # Elasticsearch went away mid-run: this feed's new entries stay unindexed and
            # the next run picks them up; the other feeds still get their turn.
            result = FeedResult(feed_id=feed.id, ok=False, error=f"Elasticsearch: {exc}")
        results.append(result)
        if progress:
            progress(result)
    return RunSummary(feeds=results)


def select_feeds(settings: config.Settings, feed_ids: list[str] | None) -> list[config.FeedConfig]:
    feeds = config.load_feeds(settings)
    if not feed_ids:
        return feeds
    by_id = {feed.id: feed for feed in feeds}
    unknown = [fid for fid in feed_ids if fid not in by_id]
    if unknown:
        raise ConfigError(
            str(settings.config_dir / "feeds.yaml"), "feeds", f"no feed with id {unknown[0]!r}"
        )
    return [by_id[fid] for fid in feed_ids]
