"""Digest rules (`mode: hourly|daily`, UTC): their events wait for the end of the period,
then go out as one message per rule and channel."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pipeline.channels import AlertMessage, Digest, Message
from pipeline.config import AlertRuleConfig
from pipeline.models import AlertEvent


def first_attempt(rule: AlertRuleConfig, now: datetime) -> datetime:
    """Instant events are due at once; digest events at the end of their hour or day."""
    if rule.mode == "instant":
        return now
    hour = now.replace(minute=0, second=0, microsecond=0)
    if rule.mode == "hourly":
        return hour + timedelta(hours=1)
    return hour.replace(hour=0) + timedelta(days=1)


def message(events: list[AlertEvent], period: str | None) -> Message:
    """One event's alert, or (with a period) the digest of all of them."""
    items = [
        AlertMessage(
            event_id=event.id,
            rule_id=event.rule_id,
            title=event.title,
            url=event.url or "",
            site=event.site,
            published_at=event.published_at,
            matched_terms=list(event.matched_terms),
        )
        for event in events
    ]
    if period is None:
        return items[0]
    ids = "\x1f".join(sorted(item.event_id for item in items))
    return Digest(
        event_id=hashlib.sha256(ids.encode()).hexdigest(),
        rule_id=items[0].rule_id,
        period=period,
        items=items,
    )
