"""Alert stage: match new articles against the rules, record each (rule, story) once,
deliver to the rules' channels, retry what failed.

Matching. The stripped Elasticsearch distribution used locally has no percolator
module, so rules are matched the other way round: the batch of new articles is
searched with every candidate rule's query, restricted to the batch's ids (one
_msearch). A rule is a candidate when one of its plain words occurs in the batch
(rules with wildcards, NOT-only or odd tokens always are), which keeps thousands
of rules cheap. Results equal `newsmon search` exactly: same query, same index.

Once per story. An event's id is the hash of (rule id, cluster id) and it is
written with `create`: reruns, retries and syndicated copies of a story hit the
existing event and send nothing.

Nothing lost. Delivery claims an event (optimistic concurrency), sends to each
channel not yet done, and keeps the event pending with its error and a backoff
(retry_base_seconds x 2^attempts) until every channel took it or it expires.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ConflictError, Elasticsearch, helpers

from pipeline import config, index
from pipeline.channels import AlertMessage, send
from pipeline.errors import ConfigError, DeliveryError
from pipeline.search import SEARCH_FIELDS

RULES_PER_MSEARCH = 200
DELIVERY_THREADS = 8
CLAIM_SECONDS = 300
_OPERATORS = {"and", "or", "not", "to"}
_WORD = re.compile(r"\w+")


def event_id(rule_id: str, cluster_id: str) -> str:
    return hashlib.sha256(f"{rule_id}\x1f{cluster_id}".encode()).hexdigest()


def rule_query(rule: config.AlertRuleConfig) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    if rule.topics:
        filters.append({"terms": {"topics": rule.topics}})
    if rule.sources:
        filters.append(
            {
                "bool": {
                    "should": [
                        {"terms": {"site": rule.sources}},
                        {"terms": {"feed_id": rule.sources}},
                    ]
                }
            }
        )
    if rule.languages:
        filters.append({"terms": {"language": rule.languages}})
    if rule.entities:
        filters.append({"terms": {"entities": rule.entities}})
    text = {
        "query_string": {
            "query": rule.query,
            "fields": SEARCH_FIELDS,
            "default_operator": "AND",
            "analyze_wildcard": True,
        }
    }
    return {"bool": {"must": [text], "filter": filters}}


def validate_rules(
    es: Elasticsearch, settings: config.Settings, alerts: config.AlertsConfig
) -> None:
    """Reject a rule whose query Elasticsearch cannot parse, naming the rule and the error."""
    for position, rule in enumerate(alerts.rules):
        result = es.indices.validate_query(
            index=settings.index_name("articles"), query=rule_query(rule), explain=True
        )
        if not result.get("valid"):
            explanations = result.get("explanations") or [{}]
            error = explanations[0].get("error") or result.get("error") or "invalid query"
            raise ConfigError(
                str(settings.config_dir / "alerts.yaml"),
                f"rules[{position}] ({rule.id}).query",
                _short(str(error)),
            )


def _short(error: str) -> str:
    # "[index/uuid] QueryShardException[Failed to parse query [x]]; nested: ParseException[...]"
    nested = error.split("nested: ")
    return nested[1].rstrip("; ") if len(nested) > 1 else error[:300]


def sync_rules(es: Elasticsearch, settings: config.Settings, alerts: config.AlertsConfig) -> int:
    """Store the configured rules in news-alert-rules (id = rule id); drop removed ones."""
    validate_rules(es, settings, alerts)
    target = settings.index_name("alert-rules")
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
                "updated_at": now,
            },
        }
        for rule in alerts.rules
    ]
    # Removed rules are deleted one by one: _delete_by_query lives in the reindex module,
    # which the local distribution does not have.
    keep = [rule.id for rule in alerts.rules]
    stale = es.search(
        index=target,
        size=10_000,
        source=False,
        query={"bool": {"must_not": {"ids": {"values": keep}}}},
    )["hits"]["hits"]
    actions += [{"_op_type": "delete", "_index": target, "_id": hit["_id"]} for hit in stale]
    helpers.bulk(es, actions, refresh="wait_for")
    return len(alerts.rules)


@dataclass(frozen=True)
class RuleWords:
    """Plain words of a rule's query: a match needs all of them (`every`) or, for a query
    with OR, at least one of them."""

    words: frozenset[str]
    every: bool


def rule_words(query: str) -> RuleWords | None:
    """None when the rule can match without any plain word (wildcards, fuzzy, NOT, ranges,
    field filters on keyword fields): such rules are always searched."""
    if re.search(r"[*?~\[\]{}:]|(^|\s)(-|NOT\b)", query):
        return None
    words = frozenset(w.lower() for w in _WORD.findall(query)) - _OPERATORS
    if not words:
        return None
    return RuleWords(words, every=re.search(r"\bOR\b|\|\|", query) is None)


def candidate_rules(
    rules: list[config.AlertRuleConfig], token_sets: list[set[str]]
) -> list[config.AlertRuleConfig]:
    """Rules that can match at least one article of the batch, judged by its words alone.
    Never drops a rule that Elasticsearch would match (the analyzer splits on the same
    word boundaries); it only spares the searches that cannot match."""
    present = set().union(*token_sets) if token_sets else set()
    candidates = []
    for rule in rules:
        needed = rule_words(rule.query)
        if needed is None:
            candidates.append(rule)
        elif not needed.every:
            if needed.words & present:
                candidates.append(rule)
        elif needed.words <= present and any(needed.words <= tokens for tokens in token_sets):
            candidates.append(rule)
    return candidates


@dataclass
class MatchSummary:
    articles: int = 0
    candidate_rules: int = 0
    matches: int = 0
    events_created: int = 0


def match_since(
    es: Elasticsearch, settings: config.Settings, alerts: config.AlertsConfig, since: datetime
) -> MatchSummary:
    """Match articles fetched since `since` and create the events (create-only)."""
    body = {"query": {"range": {"fetched_at": {"gte": since.isoformat()}}}}
    batch = list(
        helpers.scan(
            es, index=settings.index_name("articles"), query=body, _source=["title", "text"]
        )
    )
    return match_articles(es, settings, alerts, batch)


def match_articles(
    es: Elasticsearch,
    settings: config.Settings,
    alerts: config.AlertsConfig,
    batch: list[dict[str, Any]],
    prefilter: bool = True,
) -> MatchSummary:
    """Match a batch of indexed articles (hits with title and text) against the rules."""
    summary = MatchSummary(articles=len(batch))
    rules = [rule for rule in alerts.rules if rule.enabled]
    if not rules or not batch:
        return summary
    ids = [hit["_id"] for hit in batch]
    token_sets = [
        {
            w.lower()
            for w in _WORD.findall(
                f"{hit['_source'].get('title', '')} {hit['_source'].get('text', '')}"
            )
        }
        for hit in batch
    ]
    candidates = candidate_rules(rules, token_sets) if prefilter else rules
    summary.candidate_rules = len(candidates)
    events = []
    for start in range(0, len(candidates), RULES_PER_MSEARCH):
        chunk = candidates[start : start + RULES_PER_MSEARCH]
        responses = es.msearch(searches=_searches(settings, chunk, ids))["responses"]
        for rule, response in zip(chunk, responses, strict=True):
            for hit in response.get("hits", {}).get("hits", []):
                summary.matches += 1
                events.append(_event(rule, hit))
    summary.events_created = _create_events(es, settings, events)
    return summary


def _searches(
    settings: config.Settings, rules: list[config.AlertRuleConfig], ids: list[str]
) -> list[dict[str, Any]]:
    searches: list[dict[str, Any]] = []
    for rule in rules:
        query = rule_query(rule)
        query["bool"]["filter"].append({"ids": {"values": ids}})
        searches += [
            {"index": settings.index_name("articles")},
            {
                "query": query,
                "size": len(ids),
                "_source": ["title", "url", "site", "published_at", "cluster_id"],
                "highlight": {
                    "fields": {"title": {}, "text": {}},
                    "number_of_fragments": 3,
                    "fragment_size": 80,
                },
            },
        ]
    return searches


def _event(rule: config.AlertRuleConfig, hit: dict[str, Any]) -> dict[str, Any]:
    source = hit["_source"]
    cluster = source.get("cluster_id") or hit["_id"]
    fragments = [f for frags in hit.get("highlight", {}).values() for f in frags]
    terms = sorted({t.lower() for f in fragments for t in re.findall(r"<em>(.*?)</em>", f)})
    now = datetime.now(UTC).isoformat()
    return {
        "_id": event_id(rule.id, cluster),
        "rule_id": rule.id,
        "cluster_id": cluster,
        "article_id": hit["_id"],
        "title": source.get("title", ""),
        "url": source.get("url"),
        "site": source.get("site"),
        "published_at": source.get("published_at"),
        "matched_terms": terms,
        "matched_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "deliveries": {},
    }


def _create_events(
    es: Elasticsearch, settings: config.Settings, events: Iterable[dict[str, Any]]
) -> int:
    target = settings.index_name("alert-events")
    actions = (
        {"_op_type": "create", "_index": target, "_id": e.pop("_id"), "_source": e} for e in events
    )
    created = 0
    for ok, info in helpers.streaming_bulk(es, actions, raise_on_error=False, max_retries=3):
        if ok:
            created += 1
        elif info["create"].get("status") != 409:  # 409: this story already alerted
            raise DeliveryError(f"cannot record alert event: {info['create'].get('error')}")
    if created:
        es.indices.refresh(index=target)
    return created


@dataclass
class DeliverySummary:
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_pending(
    es: Elasticsearch,
    settings: config.Settings,
    alerts: config.AlertsConfig,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> DeliverySummary:
    now = now or datetime.now(UTC)
    target = settings.index_name("alert-events")
    rules = {rule.id: rule for rule in alerts.rules}
    summary = DeliverySummary()
    due = es.search(
        index=target,
        size=500,
        seq_no_primary_term=True,
        query={
            "bool": {
                "filter": [
                    {"term": {"status": "pending"}},
                    {"range": {"next_attempt_at": {"lte": now.isoformat()}}},
                ],
                "must_not": [{"range": {"claimed_until": {"gt": now.isoformat()}}}],
            }
        },
        sort=[{"matched_at": "asc"}],
    )["hits"]["hits"]

    def deliver(hit: dict[str, Any]) -> dict[str, Any] | None:
        claim = _claim(es, target, hit, now)
        if claim is None:
            return None  # another worker has it
        source = hit["_source"]
        outcome = _deliver_one(source, rules.get(source["rule_id"]), alerts, hit["_id"], now, env)
        es.update(
            index=target, id=hit["_id"], doc=outcome, if_seq_no=claim[0], if_primary_term=claim[1]
        )
        return outcome

    due, held = _apply_throttles(es, target, rules, due, now)
    for hit, until in held:  # over the rule's throttle: wait for the next period
        es.update(index=target, id=hit["_id"], doc={"next_attempt_at": until.isoformat()})
        summary.pending += 1
    # Channels are network-bound: several events go out at once.
    with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
        outcomes = list(pool.map(deliver, due))
    for hit, outcome in zip(due, outcomes, strict=True):
        if outcome is None:
            continue
        status = outcome["status"]
        if status == "delivered":
            summary.delivered += 1
        elif status == "pending":
            summary.pending += 1
        else:
            summary.failed += 1
        if outcome.get("last_error") and status != "delivered":
            summary.errors.append(f"{hit['_source']['rule_id']}: {outcome['last_error']}")
    if due:
        es.indices.refresh(index=target)  # once per pass, not per event
    return summary


PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _apply_throttles(
    es: Elasticsearch,
    target: str,
    rules: dict[str, config.AlertRuleConfig],
    due: list[dict[str, Any]],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], datetime]]]:
    """Split due events into those a rule's throttle lets through now and those held back
    until the period has room again (events are kept, never dropped)."""
    sent: dict[str, int] = {}
    for period, length in PERIODS.items():
        throttled = [r.id for r in rules.values() if r.throttle and r.throttle.per == period]
        if not throttled:
            continue
        counts = es.search(
            index=target,
            size=0,
            query={
                "bool": {
                    "filter": [
                        {"terms": {"rule_id": throttled}},
                        {"range": {"delivered_at": {"gt": (now - length).isoformat()}}},
                    ]
                }
            },
            aggs={"rules": {"terms": {"field": "rule_id", "size": len(throttled)}}},
        )
        for bucket in counts["aggregations"]["rules"]["buckets"]:
            sent[bucket["key"]] = bucket["doc_count"]
    allowed, held = [], []
    for hit in due:
        rule = rules.get(hit["_source"]["rule_id"])
        if rule is None or rule.throttle is None:
            allowed.append(hit)
        elif sent.get(rule.id, 0) < rule.throttle.max:
            sent[rule.id] = sent.get(rule.id, 0) + 1
            allowed.append(hit)
        else:
            held.append((hit, now + PERIODS[rule.throttle.per]))
    return allowed, held


def _claim(
    es: Elasticsearch, target: str, hit: dict[str, Any], now: datetime
) -> tuple[int, int] | None:
    until = (now + timedelta(seconds=CLAIM_SECONDS)).isoformat()
    try:
        response = es.update(
            index=target,
            id=hit["_id"],
            doc={"claimed_until": until},
            if_seq_no=hit["_seq_no"],
            if_primary_term=hit["_primary_term"],
        )
    except ConflictError:
        return None
    return int(response["_seq_no"]), int(response["_primary_term"])


def _deliver_one(
    event: dict[str, Any],
    rule: config.AlertRuleConfig | None,
    alerts: config.AlertsConfig,
    id_: str,
    now: datetime,
    env: Mapping[str, str] | None,
) -> dict[str, Any]:
    deliveries: dict[str, Any] = dict(event.get("deliveries") or {})
    if rule is None:
        return {
            "status": "failed",
            "last_error": "rule no longer configured",
            "claimed_until": None,
        }
    message = AlertMessage(
        event_id=id_,
        rule_id=rule.id,
        title=event.get("title", ""),
        url=event.get("url") or "",
        site=event.get("site"),
        published_at=event.get("published_at"),
        matched_terms=list(event.get("matched_terms") or []),
    )
    errors = []
    for name in rule.channels:
        if deliveries.get(name, {}).get("status") == "delivered":
            continue  # never send twice to a channel that already took it
        try:
            send(name, alerts.channels[name], message, env)
            deliveries[name] = {"status": "delivered", "at": now.isoformat()}
        except DeliveryError as exc:
            deliveries[name] = {"status": "failed", "at": now.isoformat(), "error": str(exc)}
            errors.append(str(exc))
    attempts = int(event.get("attempts", 0)) + 1
    outcome: dict[str, Any] = {
        "deliveries": deliveries,
        "attempts": attempts,
        "claimed_until": None,
    }
    if not errors:
        outcome.update(status="delivered", delivered_at=now.isoformat(), last_error=None)
        return outcome
    matched_at = datetime.fromisoformat(event["matched_at"])
    expired = now - matched_at > timedelta(hours=alerts.expire_hours)
    backoff = timedelta(seconds=alerts.retry_base_seconds * 2 ** (attempts - 1))
    outcome.update(
        status="failed" if expired else "pending",
        last_error="; ".join(errors),
        next_attempt_at=(now + backoff).isoformat(),
    )
    return outcome


def history(
    es: Elasticsearch,
    settings: config.Settings,
    status: str | None = None,
    rule_id: str | None = None,
    size: int = 50,
) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if status:
        filters.append({"term": {"status": status}})
    if rule_id:
        filters.append({"term": {"rule_id": rule_id}})
    response = es.search(
        index=settings.index_name("alert-events"),
        size=size,
        query={"bool": {"filter": filters}},
        sort=[{"matched_at": "desc"}],
    )
    return [{"event_id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def test_rule(
    es: Elasticsearch,
    settings: config.Settings,
    rule: config.AlertRuleConfig,
    days: int = 7,
    size: int = 20,
) -> list[dict[str, Any]]:
    """What the rule would have matched among articles fetched in the last `days`."""
    query = rule_query(rule)
    since = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    query["bool"]["filter"].append({"range": {"fetched_at": {"gte": since}}})
    response = es.search(
        index=settings.index_name("articles"),
        query=query,
        size=size,
        collapse={"field": "cluster_id"},
        source_includes=["title", "url", "site", "published_at"],
    )
    return [{"id": hit["_id"], **hit["_source"]} for hit in response["hits"]["hits"]]


def run_alerts(settings: config.Settings, since: datetime) -> dict[str, Any]:
    """Sync rules, match articles fetched since `since`, deliver what is due."""
    alerts = config.load_alerts(settings)
    es = index.make_es_client(settings)
    try:
        index.check_reachable(es, settings)
        index.ensure_indices(es, settings)
        sync_rules(es, settings, alerts)
        matched = match_since(es, settings, alerts, since)
        delivered = deliver_pending(es, settings, alerts)
    finally:
        es.close()
    return {"match": vars(matched), "delivery": vars(delivered)}
