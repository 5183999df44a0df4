"""news-alert-rules: the alert rules as last synced from alerts.yaml (id = rule id), each
with a fingerprint of its settings so that a sync only rewrites what changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch, helpers

from pipeline.config import AlertRuleConfig, Settings
from pipeline.store.indices import Index


def fingerprints(es: Elasticsearch, settings: Settings) -> dict[str, str | None]:
    """rule id -> fingerprint of every stored rule."""
    hits = helpers.scan(
        es,
        index=settings.index_name(Index.ALERT_RULES),
        query={"query": {"match_all": {}}},
        _source=["fingerprint"],
    )
    return {hit["_id"]: hit["_source"].get("fingerprint") for hit in hits}


def write(
    es: Elasticsearch,
    settings: Settings,
    changed: list[tuple[AlertRuleConfig, str]],
    removed: list[str],
) -> None:
    """Store new or changed (rule, fingerprint) pairs and delete removed rule ids. Removed
    rules are deleted one by one: _delete_by_query lives in the reindex module, which the
    local distribution does not have."""
    target = settings.index_name(Index.ALERT_RULES)
    now = datetime.now(UTC).isoformat()
    actions: list[dict[str, Any]] = [
        {
            "_op_type": "index",
            "_index": target,
            "_id": rule.id,
            "_source": {
                "rule_id": rule.id,
                "query": rule.query,
                "enabled": rule.enabled,
                "channels": rule.channels,
                "rule": rule.model_dump(),
                "fingerprint": fingerprint,
                "updated_at": now,
            },
        }
        for rule, fingerprint in changed
    ]
    actions += [{"_op_type": "delete", "_index": target, "_id": rule_id} for rule_id in removed]
    if actions:
        helpers.bulk(es, actions, refresh="wait_for")
