from __future__ import annotations

from datetime import UTC, datetime

from pipeline.models import AlertEvent, Delivery
from pipeline.store.alert_events import from_source, to_document

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_a_new_story_event_is_stored_without_unset_fields() -> None:
    event = AlertEvent.new(
        "r", "c", NOW, NOW, kind="story", title="T", url="https://x", matched_terms=["kim"]
    )
    doc = to_document(event)
    assert doc == {
        "rule_id": "r",
        "cluster_id": "c",
        "kind": "story",
        "title": "T",
        "url": "https://x",
        "matched_terms": ["kim"],
        "matched_at": NOW.isoformat(),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": NOW.isoformat(),
        "deliveries": {},
    }


def test_document_round_trip_keeps_deliveries_and_dates() -> None:
    event = AlertEvent.new(
        "r", "c", NOW, NOW, kind="spike", title="Spike", url=None, matched_terms=[]
    )
    delivered = Delivery("delivered", NOW.isoformat())
    failed = Delivery("failed", NOW.isoformat(), "HTTP 500")
    event = AlertEvent(**{**vars(event), "deliveries": {"a": delivered, "b": failed}})
    doc = to_document(event)
    assert doc["deliveries"] == {
        "a": {"status": "delivered", "at": NOW.isoformat()},
        "b": {"status": "failed", "at": NOW.isoformat(), "error": "HTTP 500"},
    }
    assert from_source(event.id, doc) == event
