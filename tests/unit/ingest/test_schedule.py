from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pipeline.config import FeedConfig, load_settings
from pipeline.ingest.schedule import after_poll, is_due, typical_gap_minutes
from pipeline.models import FeedResult
from pipeline.store.feeds import FeedState

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
FEED = FeedConfig(id="f", url="https://example.org/feed", name="F")
SETTINGS = load_settings({})  # schedule 15 min, feed intervals 1..60 min


def _poll(
    state: FeedState, new: int = 0, ok: bool = True, gap_minutes: float | None = None
) -> FeedState:
    result = FeedResult(feed_id="f", ok=ok, entries=10, new=new)
    published = [NOW - timedelta(minutes=gap_minutes * i) for i in range(10)] if gap_minutes else []
    return after_poll(state, result, FEED, SETTINGS, NOW, published, random.Random(1))


def _wait(state: FeedState) -> timedelta:
    return datetime.fromisoformat(str(state.next_poll_at)) - NOW


def test_a_feed_is_polled_about_as_often_as_it_publishes() -> None:
    assert _wait(_poll(FeedState("f"), new=1, gap_minutes=7)) == timedelta(minutes=7)
    assert _wait(_poll(FeedState("f"), new=1, gap_minutes=0.1)) == timedelta(minutes=1)  # floor
    assert _wait(_poll(FeedState("f"), gap_minutes=24 * 60)) == timedelta(minutes=60)  # the cap


def test_the_gap_is_remembered_through_polls_that_read_nothing() -> None:
    state = _poll(FeedState("f"), new=2, gap_minutes=10)
    for _ in range(5):  # 304s: no items, no dates
        state = _poll(state)
    assert state.interval_minutes == 10 and state.expected_gap_minutes == 10


def test_a_feed_may_cap_its_own_wait() -> None:
    feed = FeedConfig(id="f", url="https://example.org/feed", name="F", max_interval=20)
    result = FeedResult(feed_id="f", entries=2)
    published = [NOW - timedelta(hours=5), NOW - timedelta(hours=10)]
    state = after_poll(FeedState("f"), result, feed, SETTINGS, NOW, published)
    assert state.interval_minutes == 20


def test_undated_feeds_adapt_from_their_interval() -> None:
    busy, quiet = FeedState("f"), FeedState("f")
    for _ in range(10):
        busy, quiet = _poll(busy, new=3), _poll(quiet, new=0)
    assert busy.interval_minutes is not None and busy.interval_minutes < 2
    assert busy.new_item_rate > 2.5 and quiet.new_item_rate == 0
    assert quiet.interval_minutes == 60  # slow, never dropped


def test_an_active_feed_is_due_on_every_run() -> None:
    """Polled at the start of a run, due again at the next one, though the next run
    starts a few seconds earlier than the feed's due time."""
    state = _poll(FeedState("f"), new=1, gap_minutes=15)
    next_run = NOW + timedelta(minutes=15) - timedelta(seconds=20)
    assert is_due(state, next_run, SETTINGS)
    assert not is_due(state, NOW + timedelta(minutes=5), SETTINGS)


def test_typical_gap() -> None:
    assert typical_gap_minutes([NOW]) is None
    dates = [NOW, NOW - timedelta(minutes=10), NOW - timedelta(minutes=12)]
    assert typical_gap_minutes(dates) == 6  # median of 10 and 2


def test_failing_feeds_back_off_with_jitter_and_recover() -> None:
    state = FeedState("f")
    waits = []
    for _ in range(8):
        state = _poll(state, ok=False)
        waits.append(_wait(state))
    assert state.consecutive_failures == 8
    assert waits[0] < waits[1] < waits[2]  # 15, 30, 60 min (±20%)
    assert timedelta(minutes=12) <= waits[0] <= timedelta(minutes=18)
    assert max(waits) <= timedelta(minutes=60 * 1.2)
    assert not is_due(state, NOW) and is_due(state, NOW + max(waits))
    state = _poll(state, new=1)
    assert state.consecutive_failures == 0


def test_state_round_trips_through_its_document() -> None:
    state = _poll(FeedState("f", etag='"abc"', body_hash="h"), new=2, gap_minutes=5)
    again = FeedState.from_doc("f", {**state.polling_doc(), "last_error": "ignored"})
    assert again == state
    assert is_due(FeedState("new-feed"), NOW)


def test_retry_after_is_honoured_even_beyond_the_cap() -> None:
    result = FeedResult(feed_id="f", ok=False, retry_after=3 * 3600)
    state = after_poll(FeedState("f"), result, FEED, SETTINGS, NOW, rng=random.Random(1))
    assert _wait(state) >= timedelta(hours=3)
