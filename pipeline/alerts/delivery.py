"""Delivery of due alert events to their rules' channels, with retries.

A pass takes three round trips to Elasticsearch however many events are due: find
the due events, claim them in one bulk request (optimistic concurrency: another
worker's claim wins), record every outcome in one bulk request. Instant events go
out one by one within their rule's throttle; digest events as one message per rule.
A channel that fails keeps the event pending with its error and a backoff
(retry_base_seconds x 2^attempts) until every channel took it or it expires; a
channel that took it is never sent it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from pipeline.alerts.digests import message
from pipeline.channels import send
from pipeline.config import AlertRuleConfig, AlertsConfig, Settings
from pipeline.errors import DeliveryError
from pipeline.models import AlertEvent, Delivery
from pipeline.store import alert_events
from pipeline.store.alert_events import Outcome, Version

DELIVERY_THREADS = 8
CLAIM_SECONDS = 300
DUE_PER_PASS = 1000
PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class DeliverySummary:
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Job:
    """One message's worth of events: a single event, or a rule's digest."""

    events: list[AlertEvent]
    channels: list[str]
    period: str | None = None  # "hourly" / "daily" for a digest


def deliver_pending(
    es: Elasticsearch,
    settings: Settings,
    alerts: AlertsConfig,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> DeliverySummary:
    """Send every due event (retries included) and record how it went."""
    now = now or datetime.now(UTC)
    summary = DeliverySummary()
    due = alert_events.due(es, settings, now, DUE_PER_PASS)
    if not due:
        return summary
    rules = {rule.id: rule for rule in alerts.rules}
    digest = [(e, v) for e, v in due if _is_digest(rules.get(e.rule_id))]
    instant = [(e, v) for e, v in due if not _is_digest(rules.get(e.rule_id))]
    instant, held = _apply_throttles(es, settings, rules, instant, now)
    outcomes = [Outcome(event, reschedule_only=True) for event in held]
    summary.pending += len(held)

    until = now + timedelta(seconds=CLAIM_SECONDS)
    claims = alert_events.claim(es, settings, instant + digest, until)
    jobs = _jobs(
        alerts, [e for e, _ in instant if e.id in claims], [e for e, _ in digest if e.id in claims]
    )
    # Channels are network-bound: several messages go out at once.
    with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
        results = list(pool.map(lambda job: _run_job(job, alerts, now, env), jobs))
    for settled in results:
        for event in settled:
            outcomes.append(Outcome(event, claims[event.id]))
            setattr(summary, event.status, getattr(summary, event.status) + 1)
            if event.last_error and event.status != "delivered":
                summary.errors.append(f"{event.rule_id}: {event.last_error}")
    summary.errors += alert_events.record(es, settings, outcomes)
    return summary


def _is_digest(rule: AlertRuleConfig | None) -> bool:
    return rule is not None and rule.mode != "instant"


def _jobs(alerts: AlertsConfig, instant: list[AlertEvent], digest: list[AlertEvent]) -> list[_Job]:
    routes = {rule.id: rule.channels for rule in alerts.rules}
    routes.update({spike.id: spike.channels for spike in alerts.spikes})
    jobs = [_Job([event], list(routes.get(event.rule_id, []))) for event in instant]
    by_rule: dict[str, list[AlertEvent]] = {}
    for event in digest:
        by_rule.setdefault(event.rule_id, []).append(event)
    rules = {rule.id: rule for rule in alerts.rules}
    for rule_id, events in by_rule.items():
        jobs.append(_Job(events, rules[rule_id].channels, rules[rule_id].mode))
    return jobs


def _apply_throttles(
    es: Elasticsearch,
    settings: Settings,
    rules: dict[str, AlertRuleConfig],
    due: list[tuple[AlertEvent, Version]],
    now: datetime,
) -> tuple[list[tuple[AlertEvent, Version]], list[AlertEvent]]:
    """Split due events into those a rule's throttle lets through now and those held back
    until the period has room again (events are kept, never dropped)."""
    sent: dict[str, int] = {}
    for period, length in PERIODS.items():
        throttled = [r.id for r in rules.values() if r.throttle and r.throttle.per == period]
        if throttled:
            sent.update(alert_events.delivered_since(es, settings, throttled, now - length))
    allowed, held = [], []
    for event, version in due:
        rule = rules.get(event.rule_id)
        if rule is None or rule.throttle is None:
            allowed.append((event, version))
        elif sent.get(rule.id, 0) < rule.throttle.max:
            sent[rule.id] = sent.get(rule.id, 0) + 1
            allowed.append((event, version))
        else:
            held.append(replace(event, next_attempt_at=now + PERIODS[rule.throttle.per]))
    return allowed, held


def _run_job(
    job: _Job, alerts: AlertsConfig, now: datetime, env: Mapping[str, str] | None
) -> list[AlertEvent]:
    """Send the job's message to each channel that has not yet taken every event in it;
    return each event's new state."""
    if not job.channels:
        return [
            replace(event, status="failed", last_error="rule no longer configured")
            for event in job.events
        ]
    errors: dict[str, str | None] = {}
    for name in job.channels:
        waiting = [event for event in job.events if not event.delivered_to(name)]
        if not waiting:
            continue  # never send twice to a channel that already took it
        try:
            send(name, alerts.channels[name], message(waiting, job.period), env)
            errors[name] = None
        except DeliveryError as exc:
            errors[name] = str(exc)
    return [_settle(event, job.channels, errors, alerts, now) for event in job.events]


def _settle(
    event: AlertEvent,
    channels: list[str],
    errors: dict[str, str | None],
    alerts: AlertsConfig,
    now: datetime,
) -> AlertEvent:
    """The event after this attempt: delivered when every channel has taken it, else
    pending with a backoff (or failed once it is too old to be worth sending)."""
    at = now.isoformat()
    deliveries = dict(event.deliveries)
    for name, error in errors.items():
        if not event.delivered_to(name):
            deliveries[name] = (
                Delivery("delivered", at) if error is None else Delivery("failed", at, error)
            )
    event = replace(event, deliveries=deliveries, attempts=event.attempts + 1)
    failures = [str(deliveries[n].error) for n in channels if not event.delivered_to(n)]
    if not failures:
        return replace(event, status="delivered", delivered_at=now, last_error=None)
    expired = now - event.matched_at > timedelta(hours=alerts.expire_hours)
    backoff = timedelta(seconds=alerts.retry_base_seconds * 2 ** (event.attempts - 1))
    return replace(
        event,
        status="failed" if expired else "pending",
        last_error="; ".join(failures),
        next_attempt_at=now + backoff,
    )
