"""Alert rule administration: a rule as a search, validation by Elasticsearch, sync into
news-alert-rules, adding rules to alerts.yaml, and trying a rule on recent articles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from pydantic import ValidationError

from pipeline.config import AlertRuleConfig, AlertsConfig, Settings, load_alerts
from pipeline.config.yaml_edit import append_item
from pipeline.errors import ConfigError
from pipeline.search.query import Filters, build_query, filter_clauses
from pipeline.store import alert_rules, articles, saved_searches


def rule_query(rule: AlertRuleConfig, latin: Iterable[str] | None = None) -> dict[str, Any]:
    """The rule as a search: its query and filters exactly as `newsmon search` builds them."""
    filters = Filters(
        topics=rule.topics, sources=rule.sources, languages=rule.languages, entities=rule.entities
    )
    query = build_query(rule.query, latin)
    return {"bool": {"must": [query], "filter": filter_clauses(filters)}}


def validate_rules(
    es: Elasticsearch, settings: Settings, alerts: AlertsConfig, only: set[str] | None = None
) -> None:
    """Reject a rule whose query Elasticsearch cannot parse, naming the rule and the error
    (only the rules in `only`, when given)."""
    for position, rule in enumerate(alerts.rules):
        if only is not None and rule.id not in only:
            continue
        error = articles.validate_query(es, settings, rule_query(rule))
        if error:
            raise ConfigError(
                str(settings.config_dir / "alerts.yaml"),
                f"rules[{position}] ({rule.id}).query",
                error,
            )


def sync_rules(es: Elasticsearch, settings: Settings, alerts: AlertsConfig) -> dict[str, int]:
    """Store the configured rules in news-alert-rules; drop removed ones. Only new and
    changed rules are validated and written: news_alerts syncs on every run, and
    checking 10,000 unchanged queries each time would take most of it."""
    stored = alert_rules.fingerprints(es, settings)
    current = {rule.id: fingerprint(rule) for rule in alerts.rules}
    changed = [rule for rule in alerts.rules if stored.get(rule.id) != current[rule.id]]
    validate_rules(es, settings, alerts, only={rule.id for rule in changed})
    removed = [rule_id for rule_id in stored if rule_id not in current]
    alert_rules.write(es, settings, [(rule, current[rule.id]) for rule in changed], removed)
    return {"rules": len(alerts.rules), "updated": len(changed), "removed": len(removed)}


def fingerprint(rule: AlertRuleConfig) -> str:
    return hashlib.sha256(json.dumps(rule.model_dump(), sort_keys=True).encode()).hexdigest()


def add_rule(settings: Settings, rule: dict[str, Any], es: Elasticsearch | None) -> AlertRuleConfig:
    """Append a rule to alerts.yaml: validated like the file itself (fields, channels,
    topics, unique id), its query checked by Elasticsearch when `es` is given."""
    path = settings.config_dir / "alerts.yaml"
    try:
        parsed = AlertRuleConfig.model_validate(rule)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(str(path), f"new rule ({rule.get('id')}).{key}", error["msg"]) from None
    current = load_alerts(settings)
    if any(existing.id == parsed.id for existing in current.rules):
        raise ConfigError(str(path), f"new rule ({parsed.id}).id", "a rule with this id exists")
    if es is not None:
        validate_rules(es, settings, replace(current, rules=[parsed]))
    append_item(path, "rules", rule, check=lambda: load_alerts(settings))
    return parsed


def add_from_saved_search(
    es: Elasticsearch, settings: Settings, search_id: str, channels: list[str], mode: str
) -> dict[str, Any]:
    """Append an alert rule with the saved search's query and filters to alerts.yaml."""
    saved = saved_searches.get(es, settings, search_id)
    filters = saved.get("filters") or {}
    rule: dict[str, Any] = {"id": search_id, "query": saved["query"] or "*"}
    for key in ("topics", "sources", "languages", "entities"):
        if filters.get(key):
            rule[key] = filters[key]
    rule["channels"] = channels
    if mode != "instant":
        rule["mode"] = mode
    parsed = add_rule(settings, rule, es)
    saved_searches.link_alert_rule(es, settings, search_id, parsed.id)
    return rule


def preview_rule(
    es: Elasticsearch, settings: Settings, rule: AlertRuleConfig, days: int = 7, size: int = 20
) -> list[dict[str, Any]]:
    """What the rule would have matched among articles fetched in the last `days`."""
    query = rule_query(rule)
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    query["bool"]["filter"].append({"range": {"fetched_at": {"gte": since}}})
    response = articles.search(
        es,
        settings,
        query=query,
        size=size,
        collapse={"field": "cluster_id"},
        source_includes=["title", "url", "site", "published_at"],
    )
    return [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]
