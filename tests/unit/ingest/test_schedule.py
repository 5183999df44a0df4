from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pipeline.config import FeedConfig, load_settings
from pipeline.ingest.schedule import after_poll, is_due
from pipeline.models import FeedResult
from pipeline.store.feeds import FeedState

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
FEED = FeedConfig(id="f", url="https://example.org/feed", name="F")
SETTINGS = load_settings({})  # base interval 15 min, bounds 5..360


def _poll(state: FeedState, new: int = 0, ok: bool = True) -> FeedState:
    result = FeedResult(feed_id="f", ok=ok, entries=10, new=new)
    return after_poll(state, result, FEED, SETTINGS, NOW, random.Random(1))


def test_busy_feeds_are_polled_more_often_and_quiet_ones_less() -> None:
    busy, quiet = FeedState("f"), FeedState("f")
    for _ in range(10):
        busy, quiet = _poll(busy, new=3), _poll(quiet, new=0)
    assert busy.interval_minutes == 5  # the lower bound
    assert quiet.interval_minutes is not None and 100 < quiet.interval_minutes <= 360
    assert busy.new_item_rate > 2.5 and quiet.new_item_rate == 0
    assert datetime.fromisoformat(str(busy.next_poll_at)) == NOW + timedelta(minutes=5)
    for _ in range(20):
        quiet = _poll(quiet)
    assert quiet.interval_minutes == 360  # the upper bound: slow, never dropped


def test_failing_feeds_back_off_with_jitter_and_recover() -> None:
    state = FeedState("f")
    waits = []
    for _ in range(8):
        state = _poll(state, ok=False)
        waits.append(datetime.fromisoformat(str(state.next_poll_at)) - NOW)
    assert state.consecutive_failures == 8
    assert waits[0] < waits[1] < waits[2] < waits[3]  # 15, 30, 60, 120 min (±20%)
    assert timedelta(minutes=12) <= waits[0] <= timedelta(minutes=18)
    assert max(waits) <= timedelta(minutes=360 * 1.2)
    assert not is_due(state, NOW) and is_due(state, NOW + max(waits))
    state = _poll(state, new=1)
    assert state.consecutive_failures == 0


def test_state_round_trips_through_its_document() -> None:
    state = _poll(FeedState("f", etag='"abc"', body_hash="h"), new=2)
    again = FeedState.from_doc("f", {**state.polling_doc(), "last_error": "ignored"})
    assert again == state
    assert is_due(FeedState("new-feed"), NOW)


def test_retry_after_is_honoured() -> None:
    result = FeedResult(feed_id="f", ok=False, retry_after=3 * 3600)
    state = after_poll(FeedState("f"), result, FEED, SETTINGS, NOW, random.Random(1))
    assert datetime.fromisoformat(str(state.next_poll_at)) >= NOW + timedelta(hours=3)
