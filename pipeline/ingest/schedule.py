"""When to poll each feed next. Feeds that bring new items are polled more often, quiet
ones less often: each poll multiplies the interval by FASTER (something new) or SLOWER
(nothing new), within the configured bounds. Failing feeds back off exponentially
(with jitter) from their base interval up to the maximum; they are never dropped.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pipeline.config import FeedConfig, Settings
from pipeline.models import FeedResult
from pipeline.store.feeds import FeedState

FASTER = 0.75
SLOWER = 1.25
RATE_WEIGHT = 0.3  # weight of the latest poll in the moving average of new items


def is_due(state: FeedState, now: datetime) -> bool:
    return state.next_poll_at is None or datetime.fromisoformat(state.next_poll_at) <= now


def base_interval(feed: FeedConfig, settings: Settings) -> float:
    return float(feed.interval or settings.ingest_interval_minutes)


def after_poll(
    state: FeedState,
    result: FeedResult,
    feed: FeedConfig,
    settings: Settings,
    now: datetime,
    rng: random.Random | None = None,
) -> FeedState:
    """The feed's next state, given what this poll did (result.poll says how it went)."""
    rng = rng or random.Random()
    low, high = settings.feed_min_interval_minutes, settings.feed_max_interval_minutes
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
    interval = (state.interval_minutes or base) * (FASTER if result.new else SLOWER)
    state.interval_minutes = round(min(max(interval, low), high), 2)
    state.next_poll_at = (now + timedelta(minutes=state.interval_minutes)).isoformat()
    return state
