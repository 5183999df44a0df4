"""The ingest engine: poll -> fetch -> extract -> dedup -> tag -> index, for a batch of
feeds at once, then match what was indexed against the alert rules. `newsmon run`, the
news_ingest DAG's shard tasks and WebSub pushes all go through here.

Concurrency. Feeds are polled and pages fetched by threads (I/O: `ingest_threads` at
once, each host still limited by the politeness gate shared by every thread and
process); extraction, fingerprints and tags run in worker processes, one per core
(`pipeline/ingest/workers.py`). The calling thread commits finished feeds in batches:
story clusters are assigned and the articles indexed under a lease that serialises
this step across all workers (so two copies of one story processed at the same moment
by two workers end in one cluster), then the feeds' states are recorded and the new
articles matched against the alert rules.

A feed's failure is recorded in its FeedResult (and its next poll backs off) and never
stops other feeds. Pages that fail are not indexed, so the next poll tries them again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
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
    NewsmonError,
    TransientFetchError,
)
from pipeline.ingest import schedule, websub
from pipeline.ingest.dedup import assign_clusters
from pipeline.ingest.download import make_client
from pipeline.ingest.fetch import fetch_page
from pipeline.ingest.poll import poll_feed
from pipeline.ingest.rss import items_read, parse_feed
from pipeline.ingest.workers import PagePool, Processed, default_processes
from pipeline.ingest.workers import prepare as prepare_workers
from pipeline.models import FeedEntry, FeedResult, Poll, RunSummary, TaggedArticle
from pipeline.store import articles as article_store
from pipeline.store import connect, locks
from pipeline.store import feeds as feed_store
from pipeline.store.feeds import FeedState
from pipeline.urls import article_id

logger = logging.getLogger(__name__)
COMMIT_ARTICLES = 200  # commit when this many articles are waiting ...
# ... or this long after the previous commit. Each commit refreshes the articles index,
# i.e. writes a new segment that Elasticsearch merges later: every 2 s, a 1,000-page run
# cost it 8 CPU-s (15 refreshes, a 2 s merge); every 5 s, 5-6 (measured in news_ingest's
# benchmark workload). Alerts wait at most that much longer.
COMMIT_SECONDS = 5.0
CLUSTERING_LEASE = "clustering"
NEVER = datetime.max.replace(tzinfo=UTC)
ES_ERRORS = (ApiError, EsConnectionError)


@dataclass
class IngestContext:
    settings: config.Settings
    http: httpx.Client
    es: Elasticsearch
    pages: PagePool
    alerts: config.AlertsConfig | None  # None: no alerts.yaml, or a broken one
    threads: int
    # Which feed of this run (by its rank in the run's list) takes on each new article:
    # another feed linking the same article counts it as a duplicate, as it would have
    # one feed after the other; the earlier feed wins even if it comes second.
    claims: dict[str, int] = field(default_factory=dict)
    _claims_lock: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, ids: list[str], rank: int) -> set[str]:
        """Of `ids`, those this feed takes on (no earlier feed of this run has them)."""
        with self._claims_lock:
            mine = {i for i in ids if self.claims.get(i, rank + 1) >= rank}
            self.claims.update(dict.fromkeys(mine, rank))
        return mine

    def owns(self, article_id: str, rank: int) -> bool:
        with self._claims_lock:
            return self.claims.get(article_id, rank) == rank

    @classmethod
    def open(
        cls,
        settings: config.Settings,
        setup_indices: bool = True,
        processes: int | None = None,
        threads: int | None = None,
    ) -> IngestContext:
        workers = processes if processes is not None else settings.ingest_processes
        # Elasticsearch's index setup is mostly waiting: the workers' models load
        # meanwhile. The thread ends before the workers are forked (a fork copies no
        # thread, but would copy a lock one held).
        with ThreadPoolExecutor(1, thread_name_prefix="es-setup") as background:
            connecting = background.submit(connect, settings, setup=setup_indices)
            prepare_workers(config.load_topics(settings), settings.cache_dir)
            es = connecting.result()
        pages = PagePool(default_processes() if workers is None else workers)
        return cls(
            settings,
            make_client(settings),
            es,
            pages,
            _alerts_config(settings),
            threads or settings.ingest_threads,
        )

    def close(self) -> None:
        self.pages.close()
        self.http.close()
        self.es.close()


@dataclass
class Collected:
    """One feed's poll and processed pages, waiting to be clustered and indexed."""

    feed: config.FeedConfig
    result: FeedResult
    state: FeedState | None  # None: a WebSub push (no poll to schedule)
    rank: int = 0  # the feed's position in the run (the earlier feed wins shared articles)
    poll: Poll | None = None
    articles: list[TaggedArticle] = field(default_factory=list)
    record: bool = True  # False when Elasticsearch failed: the feed stays due


def ingest_feeds(
    ctx: IngestContext,
    feeds: list[config.FeedConfig],
    progress: Callable[[FeedResult], None] | None = None,
) -> RunSummary:
    """Ingest a batch of feeds concurrently; results come back in the feeds' order."""
    summary = RunSummary(feeds=[])
    ctx.claims.clear()
    try:
        states = _load_states(ctx, [feed.id for feed in feeds])
    except ES_ERRORS as exc:
        summary.feeds = [_es_failure(feed.id, exc) for feed in feeds]
        return summary
    with (
        ThreadPoolExecutor(ctx.threads, thread_name_prefix="feed") as feed_pool,
        ThreadPoolExecutor(ctx.threads, thread_name_prefix="page") as page_pool,
    ):
        running = {
            feed_pool.submit(_collect_feed, ctx, page_pool, feed, states[feed.id], rank)
            for rank, feed in enumerate(feeds)
        }
        ready: list[Collected] = []
        last_commit = time.monotonic()
        while running:
            done, running = wait(running, timeout=COMMIT_SECONDS, return_when=FIRST_COMPLETED)
            ready += [future.result() for future in done]
            waiting = sum(len(c.articles) for c in ready)
            due = time.monotonic() - last_commit >= COMMIT_SECONDS
            if ready and (not running or waiting >= COMMIT_ARTICLES or due):
                _commit(ctx, ready, summary, progress)
                ready, last_commit = [], time.monotonic()
    order = {feed.id: position for position, feed in enumerate(feeds)}
    summary.feeds.sort(key=lambda result: order[result.feed_id])
    return summary


def ingest_pushed(
    ctx: IngestContext, feed: config.FeedConfig, body: bytes, content_type: str | None
) -> FeedResult:
    """A feed body pushed by a WebSub hub: the same path as a poll, from parsing on."""
    result = FeedResult(feed_id=feed.id, poll="pushed")
    try:
        entries = parse_feed(
            feed.id,
            body,
            base_url=feed.url,
            content_type=content_type,
            max_items=items_read(ctx.settings),
        )
    except FeedParseError as exc:
        result.ok, result.error = False, str(exc)
        return result
    collected = Collected(feed, result, state=None)
    with ThreadPoolExecutor(ctx.threads, thread_name_prefix="page") as page_pool:
        try:
            collected.articles = _collect_entries(
                ctx, page_pool, entries[: ctx.settings.max_entries_per_feed], result, rank=0
            )
        except ES_ERRORS as exc:
            return _es_failure(feed.id, exc)
    summary = RunSummary(feeds=[])
    _commit(ctx, [collected], summary, None)
    return summary.feeds[0]


def _load_states(ctx: IngestContext, feed_ids: list[str]) -> dict[str, FeedState]:
    states: dict[str, FeedState] = {}
    for start in range(0, len(feed_ids), 1000):  # one mget per thousand feeds
        states.update(feed_store.load_states(ctx.es, ctx.settings, feed_ids[start : start + 1000]))
    return states


def _collect_feed(
    ctx: IngestContext,
    page_pool: ThreadPoolExecutor,
    feed: config.FeedConfig,
    state: FeedState,
    rank: int,
) -> Collected:
    """Poll one feed and fetch and process its new pages (runs in a feed thread)."""
    result = FeedResult(feed_id=feed.id)
    collected = Collected(feed, result, state, rank)
    try:
        poll = poll_feed(ctx.http, feed, ctx.settings, state)
    except (FetchError, FeedParseError) as exc:
        result.ok, result.error, result.poll = False, str(exc), "failed"
        result.retry_after = getattr(exc, "retry_after", None)
        return collected
    result.poll, collected.poll = poll.status, poll
    try:
        collected.articles = _collect_entries(ctx, page_pool, poll.entries, result, rank)
        if poll.hub and ctx.settings.websub_callback_url:
            websub.keep_subscribed(
                ctx.http, ctx.es, ctx.settings, feed, poll.hub, poll.topic, state
            )
    except ES_ERRORS as exc:
        # Elasticsearch went away mid-run: this feed's entries stay unindexed and its
        # state unrecorded, so the next run polls it again; the other feeds go on.
        return Collected(feed, _es_failure(feed.id, exc), state, rank, record=False)
    return collected


def _collect_entries(
    ctx: IngestContext,
    page_pool: ThreadPoolExecutor,
    entries: list[FeedEntry],
    result: FeedResult,
    rank: int,
) -> list[TaggedArticle]:
    """Known entries skipped (one round trip), new ones fetched and processed at once;
    counts go into `result`."""
    result.entries = len(entries)
    ids = {entry.url: article_id(entry.url) for entry in entries}
    known = article_store.existing_ids(ctx.es, ctx.settings, list(ids.values()))
    mine = ctx.claim([i for i in ids.values() if i not in known], rank)
    new_entries = [e for e in entries if ids[e.url] in mine]
    result.new = len(new_entries)
    result.duplicate = len(entries) - len(new_entries)
    pages = [page_pool.submit(_fetch_and_process, ctx, entry) for entry in new_entries]
    articles = []
    for page in pages:
        processed, retryable = page.result()
        if processed.article is None:
            result.failed += 1
            result.retryable += retryable
            result.failures.append(str(processed.problem))
        else:
            articles.append(processed.article)
    result.extracted = len(articles)
    return articles


def _fetch_and_process(ctx: IngestContext, entry: FeedEntry) -> tuple[Processed, bool]:
    """Fetch a page (in a page thread), process it in a worker; (outcome, retryable)."""
    try:
        page = fetch_page(ctx.http, entry, ctx.settings)
    except FetchError as exc:
        return Processed(None, str(exc)), isinstance(exc, TransientFetchError)
    try:
        return ctx.pages.submit(page.body, entry, datetime.now(UTC)).result(), False
    except BrokenProcessPool:  # a worker died (the page may have crashed it): retry later
        ctx.pages.worker_died()
        return Processed(None, f"{entry.url}: extraction worker crashed"), True


def _commit(
    ctx: IngestContext,
    batch: list[Collected],
    summary: RunSummary,
    progress: Callable[[FeedResult], None] | None,
) -> None:
    """Cluster and index the batch's articles, record each feed, alert on what is new."""
    try:
        indexed = _cluster_and_index(ctx, batch)
        _record(ctx, batch)
    except (*ES_ERRORS, NewsmonError) as exc:
        for collected in batch:
            if collected.record:  # its articles may be unindexed: the feed stays due
                collected.result = _es_failure(collected.feed.id, exc)
        indexed = []
    if indexed:
        _alert(ctx, indexed, summary)
    for collected in batch:
        summary.feeds.append(collected.result)
        if progress:
            progress(collected.result)


def _cluster_and_index(ctx: IngestContext, batch: list[Collected]) -> list[dict[str, Any]]:
    """Returns the articles indexed now (not those another run indexed first), as hits."""
    for collected in batch:
        _give_up_shared(ctx, collected)
    order = {collected.feed.id: collected.rank for collected in batch}
    # Within a batch the earliest published copy of a story names its cluster.
    pending = sorted(
        (article for collected in batch for article in collected.articles),
        key=lambda t: (t.article.published_at or NEVER, order.get(t.article.feed_id or "", 0)),
    )
    if not pending:
        return []
    with locks.lease(ctx.es, ctx.settings, CLUSTERING_LEASE):
        # Under the lease, the near-duplicate lookup sees every article any worker
        # indexed before (they are searchable: each commit refreshes before releasing).
        clustered = assign_clusters(ctx.es, ctx.settings, [t.article for t in pending])
        tagged = [
            dataclasses.replace(t, article=a) for t, a in zip(pending, clustered, strict=True)
        ]
        hits = [article_store.hit(item) for item in tagged]
        bulk = article_store.create(ctx.es, ctx.settings, hits)
        if bulk.created_ids:
            article_store.refresh(ctx.es, ctx.settings)
    by_feed: dict[str, list[TaggedArticle]] = {}
    for item in tagged:
        by_feed.setdefault(item.article.feed_id or "", []).append(item)
    for collected in batch:
        mine = by_feed.get(collected.feed.id, [])
        _count_indexing(collected.result, mine, bulk)
    return [hit for hit in hits if hit["_id"] in bulk.created_ids]


def _give_up_shared(ctx: IngestContext, collected: Collected) -> None:
    """Drop the articles an earlier feed of this run took on after this feed did: for
    this feed they are duplicates, as if the feeds had run one after the other."""
    kept = [t for t in collected.articles if ctx.owns(t.article.id, collected.rank)]
    given_up = len(collected.articles) - len(kept)
    collected.articles = kept
    collected.result.new -= given_up
    collected.result.extracted -= given_up
    collected.result.duplicate += given_up


def _count_indexing(
    result: FeedResult, articles: list[TaggedArticle], bulk: article_store.BulkResult
) -> None:
    for item in articles:
        if item.article.id in bulk.created_ids:
            result.indexed += 1
            result.near_duplicate += item.article.duplicate_of is not None
        elif item.article.id in bulk.errors:
            result.failed += 1
            result.retryable += 1  # an indexing error is worth another try
            result.failures.append(f"{item.article.id}: {bulk.errors[item.article.id]}")
        else:
            result.duplicate += 1  # indexed meanwhile by another worker


def _record(ctx: IngestContext, batch: list[Collected]) -> None:
    """Each polled feed's next state and health, in one bulk request."""
    now = datetime.now(UTC)
    records = []
    for collected in batch:
        if not collected.record:
            continue
        state, poll, result = collected.state, collected.poll, collected.result
        if state is not None:
            if poll is not None:
                # Validators are kept only when nothing retryable failed: otherwise the
                # next poll must read the whole feed again to retry those entries.
                complete = result.retryable == 0
                state.etag = poll.etag if complete else None
                state.last_modified = poll.last_modified if complete else None
                state.body_hash = poll.body_hash if complete else None
            published = [e.published for e in poll.entries if e.published] if poll else []
            state = schedule.after_poll(state, result, collected.feed, ctx.settings, now, published)
        records.append((result, collected.feed.url, collected.feed.name, state))
    feed_store.record_results(ctx.es, ctx.settings, records)


def _alert(ctx: IngestContext, hits: list[dict[str, Any]], summary: RunSummary) -> None:
    """Match what was just indexed and deliver at once: seconds after indexing instead of
    at the next news_alerts run. Errors are recorded, not raised: the news_alerts
    catch-up matches anything missed here."""
    if ctx.alerts is None:
        return
    try:
        matched = match_articles(ctx.es, ctx.settings, ctx.alerts, hits)
        summary.alerts += matched.events_created
        summary.failures += [f"alerts: {error}" for error in matched.errors]
        if matched.events_created:
            delivered = deliver_pending(ctx.es, ctx.settings, ctx.alerts)
            summary.alerts_delivered += delivered.delivered
            summary.failures += [f"alerts: {error}" for error in delivered.errors]
    except (*ES_ERRORS, DeliveryError) as exc:
        summary.failures.append(f"alerts: {exc}")


def _es_failure(feed_id: str, exc: Exception) -> FeedResult:
    return FeedResult(feed_id=feed_id, ok=False, error=f"Elasticsearch: {exc}")


def _alerts_config(settings: config.Settings) -> config.AlertsConfig | None:
    try:
        return config.load_alerts(settings)
    except ConfigError as exc:
        # A broken alerts.yaml must not stop ingest; news_alerts fails on it loudly.
        logger.warning("alerts are off for this run: %s", exc)
        return None


def run_cycle(
    settings: config.Settings,
    feed_ids: list[str] | None = None,
    progress: Callable[[FeedResult], None] | None = None,
) -> RunSummary:
    feeds = config.select_feeds(settings, feed_ids)
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
    """`newsmon run`: ingest (which matches and delivers what it indexes), then the
    alerts pass: rules, spikes, due digests and retries, and a catch-up match of this
    run's articles when matching at ingest was off or failed."""
    started = datetime.now(UTC)
    feeds = config.select_feeds(settings, feed_ids)
    ctx = IngestContext.open(settings)
    try:
        summary = ingest_feeds(ctx, feeds, progress)
        ctx.pages.close()  # the workers' part is done
        missed = ctx.alerts is None or any(f.startswith("alerts:") for f in summary.failures)
        since = started if missed else None
        try:
            return summary, run_alerts(settings, since, ctx.es, ctx.alerts)
        except ConfigError as exc:  # a broken alerts.yaml: what was ingested still counts
            return summary, {"error": f"config error: {exc}"}
    finally:
        ctx.close()
