"""One alerts pass, as news_alerts and `newsmon alerts run` do it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.alerts.delivery import deliver_pending
from pipeline.alerts.matching import MatchSummary, match_since
from pipeline.alerts.rules import sync_rules
from pipeline.alerts.spikes import check_spikes
from pipeline.config import AlertsConfig, Settings, load_alerts
from pipeline.store import session


def run_alerts(
    settings: Settings,
    since: datetime | None,
    es: Elasticsearch | None = None,
    alerts: AlertsConfig | None = None,
) -> dict[str, Any]:
    """Sync rules, match articles fetched since `since` (a catch-up: ingest already
    matched what it indexed; None skips it), check spike rules, deliver what is due.
    Uses `es` and `alerts` when the caller has them (its indices set up)."""
    alerts = alerts or load_alerts(settings)
    if es is None:
        with session(settings, setup=True) as own:
            return run_alerts(settings, since, own, alerts)
    sync_rules(es, settings, alerts)
    matched = match_since(es, settings, alerts, since) if since else MatchSummary()
    spikes = check_spikes(es, settings, alerts)
    delivered = deliver_pending(es, settings, alerts)
    return {
        "match": vars(matched),
        "spikes": [vars(check) for check in spikes],
        "delivery": vars(delivered),
    }
