"""When to poll each feed next.

A feed is polled about as often as it publishes: the interval is the typical gap
between its recent items (from the dates in the feed), bounded by
`feed_min_interval_minutes` below and by a cap above (`feed_max_interval_minutes`, or
the feed's own `max_interval`; 60 minutes by default), so no feed waits longer than the
cap and an active feed is polled on every run. A feed without dates adapts from its
configured `interval`: faster after a poll that brought something new, slower after
one that did not. Failing feeds back off exponentially (with jitter) up to the cap;
a server's Retry-After is honoured even beyond it. Feeds are never dropped.

A run polls the feeds due before the middle of the next scheduled interval, so a feed
due a few seconds after a run's start is not left waiting a whole interval.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from pipeline.config import FeedConfig, Settings
from pipeline.models import FeedResult
from pipeline.store.feeds import FeedState

FASTER = 0.75
SLOWER = 1.25
RATE_WEIGHT = 0.3  # weight of the latest poll in the moving average of new items
UNSCHEDULED_BASE = 15.0  # minutes, when news_ingest has no schedule (triggered runs only)
RECENT_ITEMS = 10  # the typical gap is the median over the newest items' gaps


def is_due(state: FeedState, now: datetime, settings: Settings | None = None) -> bool:
    if state.next_poll_at is None:
        return True
    slack = timedelta(minutes=settings.ingest_interval_minutes / 2) if settings else timedelta()
    return datetime.fromisoformat(state.next_poll_at) <= now + slack


def cap_minutes(feed: FeedConfig, settings: Settings) -> float:
    return float(feed.max_interval or settings.feed_max_interval_minutes)


def base_interval(feed: FeedConfig, settings: Settings) -> float:
    """Where an undated feed's interval starts, and a failing feed's backoff."""
    return float(feed.interval or settings.ingest_interval_minutes or UNSCHEDULED_BASE)


def typical_gap_minutes(published: Sequence[datetime]) -> float | None:
    """Median gap between the newest dated items, or None with fewer than two."""
    newest = sorted(set(published), reverse=True)[:RECENT_ITEMS]
    if len(newest) < 2:
        return None
    gaps = [(a - b).total_seconds() / 60 for a, b in itertools.pairwise(newest)]
    return float(statistics.median(gaps))


def after_poll(
    state: FeedState,
    result: FeedResult,
    feed: FeedConfig,
    settings: Settings,
    now: datetime,
    published: Sequence[datetime] = (),
    rng: random.Random | None = None,
) -> FeedState:
    """The feed's next state, given what this poll did (result.poll says how it went)
    and the publication dates of the items it read."""
    rng = rng or random.Random()
    low, high = settings.feed_min_interval_minutes, cap_minutes(feed, settings)
    base = min(max(base_interval(feed, settings), low), high)
    state.polls += 1
    if not result.ok:
        state.consecutive_failures += 1
        backoff = min(high, base * 2 ** (state.consecutive_failures - 1))
        wait = backoff * rng.uniform(0.8, 1.2)  # jitter: failing feeds do not retry in step
        if result.retry_after:  # the server said when: never earlier than that
            wait = max(wait, result.retry_after / 60)
        state.next_poll_at = (now + timedelta(minutes=wait)).isoformat()
        return state
    state.consecutive_failures = 0
    state.items_seen += result.entries
    state.not_modified += result.poll == "not_modified"
    state.unchanged += result.poll == "unchanged"
    state.new_item_rate = round(
        (1 - RATE_WEIGHT) * state.new_item_rate + RATE_WEIGHT * result.new, 3
    )
    gap = typical_gap_minutes(published)
    if gap is not None:
        state.expected_gap_minutes = round(gap, 2)
    if state.expected_gap_minutes is not None:
        interval = state.expected_gap_minutes  # the expected time to the next item
    else:
        interval = (state.interval_minutes or base) * (FASTER if result.new else SLOWER)
    state.interval_minutes = round(min(max(interval, low), high), 2)
    state.next_poll_at = (now + timedelta(minutes=state.interval_minutes)).isoformat()
    return state
