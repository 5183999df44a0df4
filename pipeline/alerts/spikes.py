"""Spike rules: alert when a topic's or a query's volume jumps above its usual level.

Volume is counted in stories (distinct clusters), not articles, so one wire story
syndicated by twenty outlets is not a spike. The baseline is the average per window
over the `baseline` period before the current window. A spike alert is an alert
event like any other, keyed by (spike id, window), so it is sent once per window and
goes through the same delivery, retries and history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import AlertsConfig, Settings, SpikeConfig, parse_duration
from pipeline.models import AlertEvent
from pipeline.search.query import build_query
from pipeline.store import alert_events, articles


@dataclass(frozen=True)
class SpikeCheck:
    spike_id: str
    current: int  # stories in the last window
    typical: float  # average stories per window over the baseline
    fired: bool


def check_spikes(
    es: Elasticsearch,
    settings: Settings,
    alerts: AlertsConfig,
    now: datetime | None = None,
) -> list[SpikeCheck]:
    """Check every enabled spike rule and record an alert event for each that fires."""
    now = now or datetime.now(UTC)
    checks, events = [], []
    for spike in alerts.spikes:
        if not spike.enabled:
            continue
        check = _check(es, settings, spike, now)
        checks.append(check)
        if check.fired:
            events.append(_event(spike, check, now))
    alert_events.create(es, settings, events)  # a window already alerted is not sent again
    return checks


def _check(es: Elasticsearch, settings: Settings, spike: SpikeConfig, now: datetime) -> SpikeCheck:
    window = parse_duration(spike.window)
    baseline = parse_duration(spike.baseline)
    current = _stories(es, settings, spike, now - window, now)
    before = _stories(es, settings, spike, now - window - baseline, now - window)
    typical = before / (baseline / window)
    fired = current >= spike.min_count and current >= spike.threshold * max(typical, 1.0)
    return SpikeCheck(spike.id, current, round(typical, 2), fired)


def _stories(
    es: Elasticsearch,
    settings: Settings,
    spike: SpikeConfig,
    start: datetime,
    end: datetime,
) -> int:
    filters: list[dict[str, Any]] = [
        {"range": {"published_at": {"gte": start.isoformat(), "lt": end.isoformat()}}}
    ]
    if spike.topic:
        filters.append({"term": {"topics": spike.topic}})
    must = [build_query(spike.query)] if spike.query else []
    response = articles.search(
        es,
        settings,
        size=0,
        query={"bool": {"must": must, "filter": filters}},
        aggs={"stories": {"cardinality": {"field": "cluster_id"}}},
    )
    return int(response["aggregations"]["stories"]["value"])


def _event(spike: SpikeConfig, check: SpikeCheck, now: datetime) -> AlertEvent:
    window_start = _window_start(now, parse_duration(spike.window))
    what = spike.topic or spike.query
    return AlertEvent.new(
        spike.id,
        f"spike:{window_start.isoformat()}",
        now,
        now,
        kind="spike",
        title=(
            f"Spike in {what}: {check.current} stories in the last {spike.window} "
            f"(typically {check.typical:g})"
        ),
        url=None,
        matched_terms=[what],
    )


def _window_start(now: datetime, window: timedelta) -> datetime:
    """Windows are aligned to the epoch, so every run in the same window agrees."""
    seconds = window.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)
