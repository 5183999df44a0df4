from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.alerts.delivery import _settle
from pipeline.config import AlertsConfig
from pipeline.models import AlertEvent, Delivery

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
ALERTS = AlertsConfig(channels={}, rules=[], retry_base_seconds=30, expire_hours=48)


def _event(**fields: object) -> AlertEvent:
    base = {"kind": "story", "title": "t", "url": "https://x/1", "matched_terms": []}
    return AlertEvent.new("rule", "story", NOW - timedelta(minutes=5), NOW, **(base | fields))


def test_delivered_once_every_channel_took_it() -> None:
    event = _settle(_event(), ["hook", "mail"], {"hook": None, "mail": None}, ALERTS, NOW)
    assert event.status == "delivered" and event.delivered_at == NOW and event.attempts == 1
    assert event.delivered_to("hook") and event.delivered_to("mail")


def test_a_failed_channel_keeps_it_pending_with_backoff_and_keeps_the_others_done() -> None:
    first = _settle(_event(), ["hook", "mail"], {"hook": None, "mail": "SMTP down"}, ALERTS, NOW)
    assert first.status == "pending" and first.last_error == "SMTP down"
    assert first.next_attempt_at == NOW + timedelta(seconds=30)
    assert first.delivered_to("hook") and not first.delivered_to("mail")
    later = NOW + timedelta(minutes=1)
    second = _settle(first, ["hook", "mail"], {"mail": "still down"}, ALERTS, later)
    assert second.next_attempt_at == later + timedelta(seconds=60)  # doubled
    assert second.deliveries["hook"] == Delivery("delivered", NOW.isoformat())  # untouched


def test_too_old_to_send_fails_for_good() -> None:
    old = _event()
    late = old.matched_at + timedelta(hours=49)
    event = _settle(old, ["hook"], {"hook": "HTTP 500"}, ALERTS, late)
    assert event.status == "failed" and event.last_error == "HTTP 500"
