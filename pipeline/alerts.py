"""Alert stage: match new articles against the rules, record each (rule, story) once,
deliver to the rules' channels, retry what failed.

Matching. The stripped Elasticsearch distribution used locally has no percolator
module, so rules are matched the other way round: each batch of new articles is
searched with the rules' queries, each restricted to the batch's ids (one _msearch
per 200 rules). `rule_filter` first drops the rules (and articles) that cannot
match, which keeps thousands of rules cheap. Results equal `newsmon search`
exactly: same query, same index.

Once per story. An event's id is the hash of (rule id, cluster id) and it is
written with `create`: reruns, retries and syndicated copies of a story hit the
existing event and send nothing.

Nothing lost. Delivery claims the due events in one bulk request (optimistic
concurrency), sends each to the channels not yet done (digest rules: one message
per rule), and keeps a failed event pending with its error and a backoff
(retry_base_seconds x 2^attempts) until every channel took it or it expires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers
from pydantic import ValidationError

from pipeline import config, index
from pipeline.channels import AlertMessage, Digest, Message, send
from pipeline.config_edit import append_item
from pipeline.errors import ConfigError, DeliveryError
from pipeline.models import new_alert_event
from pipeline.rule_filter import ArticleTerms, RuleFilter, matched_terms
from pipeline.search import Filters, build_query, filter_clauses
from pipeline.spikes import check_spikes

RULES_PER_MSEARCH = 200
MATCH_BATCH = 500  # articles per round of matching in a catch-up
DELIVERY_THREADS = 8
CLAIM_SECONDS = 300
DUE_PER_PASS = 1000


def rule_query(rule: config.AlertRuleConfig) -> dict[str, Any]:
    """The rule as a search: its query and filters exactly as `newsmon search` builds them."""
    filters = Filters(
        topics=rule.topics, sources=rule.sources, languages=rule.languages, entities=rule.entities
    )
    return {"bool": {"must": [build_query(rule.query)], "filter": filter_clauses(filters)}}


def validate_rules(
    es: Elasticsearch,
    settings: config.Settings,
    alerts: config.AlertsConfig,
    only: set[str] | None = None,
) -> None:
    """Reject a rule whose query Elasticsearch cannot parse, naming the rule and the error
    (only the rules in `only`, when given)."""
    for position, rule in enumerate(alerts.rules):
        if only is not None and rule.id not in only:
            continue
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


def sync_rules(
    es: Elasticsearch, settings: config.Settings, alerts: config.AlertsConfig
) -> dict[str, int]:
    """Store the configured rules in news-alert-rules (id = rule id); drop removed ones.
    Only new and changed rules are validated and written: news_alerts syncs on every
    run, and checking 10,000 unchanged queries each time would take most of it."""
    target = settings.index_name("alert-rules")
    stored = {
        hit["_id"]: hit["_source"].get("fingerprint")
        for hit in helpers.scan(
            es, index=target, query={"query": {"match_all": {}}}, _source=["fingerprint"]
        )
    }
    fingerprints = {rule.id: _fingerprint(rule) for rule in alerts.rules}
    changed = [rule for rule in alerts.rules if stored.get(rule.id) != fingerprints[rule.id]]
    validate_rules(es, settings, alerts, only={rule.id for rule in changed})
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
                "fingerprint": fingerprints[rule.id],
                "updated_at": now,
            },
        }
        for rule in changed
    ]
    # Removed rules are deleted one by one: _delete_by_query lives in the reindex module,
    # which the local distribution does not have.
    removed = [rule_id for rule_id in stored if rule_id not in fingerprints]
    actions += [{"_op_type": "delete", "_index": target, "_id": rule_id} for rule_id in removed]
    if actions:
        helpers.bulk(es, actions, refresh="wait_for")
    return {"rules": len(alerts.rules), "updated": len(changed), "removed": len(removed)}


def _fingerprint(rule: config.AlertRuleConfig) -> str:
    return hashlib.sha256(json.dumps(rule.model_dump(), sort_keys=True).encode()).hexdigest()


def add_rule(
    settings: config.Settings, rule: dict[str, Any], es: Elasticsearch | None
) -> config.AlertRuleConfig:
    """Append a rule to alerts.yaml: validated like the file itself (fields, channels,
    topics, unique id), its query checked by Elasticsearch when `es` is given."""
    path = settings.config_dir / "alerts.yaml"
    try:
        parsed = config.AlertRuleConfig.model_validate(rule)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(str(path), f"new rule ({rule.get('id')}).{key}", error["msg"]) from None
    current = config.load_alerts(settings)
    if any(existing.id == parsed.id for existing in current.rules):
        raise ConfigError(str(path), f"new rule ({parsed.id}).id", "a rule with this id exists")
    if es is not None:
        validate_rules(es, settings, replace(current, rules=[parsed]))
    append_item(path, "rules", rule, check=lambda: config.load_alerts(settings))
    return parsed


@dataclass
class MatchSummary:
    articles: int = 0
    candidate_rules: int = 0
    matches: int = 0
    events_created: int = 0
    errors: list[str] = field(default_factory=list)


# What matching needs of each article: the text for the rule filter, the keyword fields
# for the rules' filters, and what goes into the alert message.
ARTICLE_FIELDS = [
    "title",
    "text",
    "url",
    "site",
    "feed_id",
    "language",
    "topics",
    "entities",
    "published_at",
    "cluster_id",
]
_RULE_FILTER = RuleFilter()


def match_since(
    es: Elasticsearch, settings: config.Settings, alerts: config.AlertsConfig, since: datetime
) -> MatchSummary:
    """Match articles fetched since `since` and create the events (create-only)."""
    body = {"query": {"range": {"fetched_at": {"gte": since.isoformat()}}}}
    hits = helpers.scan(
        es, index=settings.index_name("articles"), query=body, _source=ARTICLE_FIELDS
    )
    summary = MatchSummary()
    batch: list[dict[str, Any]] = []
    for hit in hits:
        batch.append(hit)
        if len(batch) == MATCH_BATCH:
            _add(summary, match_articles(es, settings, alerts, batch))
            batch = []
    _add(summary, match_articles(es, settings, alerts, batch))
    return summary


def _add(total: MatchSummary, part: MatchSummary) -> None:
    total.articles += part.articles
    total.candidate_rules += part.candidate_rules
    total.matches += part.matches
    total.events_created += part.events_created
    total.errors += part.errors


def match_articles(
    es: Elasticsearch,
    settings: config.Settings,
    alerts: config.AlertsConfig,
    batch: list[dict[str, Any]],
    prefilter: bool = True,
) -> MatchSummary:
    """Match a batch of indexed articles (hits with ARTICLE_FIELDS) against the rules."""
    summary = MatchSummary(articles=len(batch))
    rules = [rule for rule in alerts.rules if rule.enabled]
    if not rules or not batch:
        return summary
    articles = [ArticleTerms.from_source(hit["_source"]) for hit in batch]
    if prefilter:
        candidates = _RULE_FILTER.candidates(rules, articles)
    else:
        candidates = [(rule, list(range(len(batch)))) for rule in rules]
    summary.candidate_rules = len(candidates)
    events = []
    for start in range(0, len(candidates), RULES_PER_MSEARCH):
        chunk = candidates[start : start + RULES_PER_MSEARCH]
        searches = _searches(
            settings, [(rule, [batch[i]["_id"] for i in at]) for rule, at in chunk]
        )
        responses = es.msearch(searches=searches)["responses"]
        for (rule, at), response in zip(chunk, responses, strict=True):
            if "error" in response:
                summary.errors.append(f"rule {rule.id}: {_short(str(response['error']))}")
                continue
            by_id = {batch[i]["_id"]: (batch[i], articles[i]) for i in at}
            for hit in response["hits"]["hits"]:
                summary.matches += 1
                events.append(_event(rule, *by_id[hit["_id"]]))
    summary.events_created = index.create_events(es, settings, events)
    return summary


def _searches(
    settings: config.Settings, rules: list[tuple[config.AlertRuleConfig, list[str]]]
) -> list[dict[str, Any]]:
    """One search per rule, restricted to the articles it may match; only ids come back."""
    searches: list[dict[str, Any]] = []
    for rule, ids in rules:
        query = rule_query(rule)
        query["bool"]["filter"].append({"ids": {"values": ids}})
        searches += [
            {"index": settings.index_name("articles")},
            {"query": query, "size": len(ids), "_source": False, "track_total_hits": False},
        ]
    return searches


def _event(
    rule: config.AlertRuleConfig, hit: dict[str, Any], article: ArticleTerms
) -> dict[str, Any]:
    source = hit["_source"]
    cluster = source.get("cluster_id") or hit["_id"]
    now = datetime.now(UTC)
    return new_alert_event(
        rule.id,
        cluster,
        now,
        first_attempt(rule, now),
        kind="story",
        article_id=hit["_id"],
        title=source.get("title", ""),
        url=source.get("url"),
        site=source.get("site"),
        published_at=source.get("published_at"),
        matched_terms=matched_terms(_RULE_FILTER.node(rule.query), rule.query, article),
    )


@dataclass
class DeliverySummary:
    delivered: int = 0
    pending: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


# (event hit, fields to write, the claim's (seq_no, primary_term) if it was claimed)
_Update = tuple[dict[str, Any], dict[str, Any], tuple[int, int] | None]


@dataclass
class _Job:
    """One message's worth of events: a single event, or a rule's digest."""

    hits: list[dict[str, Any]]
    channels: list[str]
    period: str | None = None  # "hourly" / "daily" for a digest


def deliver_pending(
    es: Elasticsearch,
    settings: config.Settings,
    alerts: config.AlertsConfig,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> DeliverySummary:
    """Send every due event: instant ones one by one (within their rule's throttle),
    digest ones as one message per rule. Three round trips to Elasticsearch per pass
    (find, claim, record), however many events."""
    now = now or datetime.now(UTC)
    target = settings.index_name("alert-events")
    rules = {rule.id: rule for rule in alerts.rules}
    summary = DeliverySummary()
    due = _due_events(es, target, now)
    if not due:
        return summary
    digest: dict[str, list[dict[str, Any]]] = {}
    instant = []
    for hit in due:
        rule = rules.get(hit["_source"]["rule_id"])
        if rule is not None and rule.mode != "instant":
            digest.setdefault(rule.id, []).append(hit)
        else:
            instant.append(hit)
    instant, held = _apply_throttles(es, target, rules, instant, now)
    updates: list[_Update] = [
        (hit, {"next_attempt_at": until.isoformat()}, None) for hit, until in held
    ]
    summary.pending += len(held)

    claims = _claim(es, target, instant + [h for hits in digest.values() for h in hits], now)
    routes = {rule.id: rule.channels for rule in alerts.rules}
    routes.update({spike.id: spike.channels for spike in alerts.spikes})
    jobs = [
        _Job([hit], list(routes.get(hit["_source"]["rule_id"], [])))
        for hit in instant
        if hit["_id"] in claims
    ]
    for rule_id, hits in digest.items():
        mine = [hit for hit in hits if hit["_id"] in claims]
        if mine:
            jobs.append(_Job(mine, rules[rule_id].channels, rules[rule_id].mode))
    # Channels are network-bound: several messages go out at once.
    with ThreadPoolExecutor(max_workers=DELIVERY_THREADS) as pool:
        results = list(pool.map(lambda job: _run_job(job, alerts, now, env), jobs))
    for job, outcomes in zip(jobs, results, strict=True):
        for hit, outcome in zip(job.hits, outcomes, strict=True):
            updates.append((hit, outcome, claims[hit["_id"]]))
            status = outcome["status"]
            setattr(summary, status, getattr(summary, status) + 1)
            if outcome.get("last_error") and status != "delivered":
                summary.errors.append(f"{hit['_source']['rule_id']}: {outcome['last_error']}")
    summary.errors += _bulk_update(es, target, updates)
    es.indices.refresh(index=target)  # once per pass, not per event
    return summary


def _due_events(es: Elasticsearch, target: str, now: datetime) -> list[dict[str, Any]]:
    response = es.search(
        index=target,
        size=DUE_PER_PASS,
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
    )
    return list(response["hits"]["hits"])


def _claim(
    es: Elasticsearch, target: str, hits: list[dict[str, Any]], now: datetime
) -> dict[str, tuple[int, int]]:
    """Mark events as being delivered by this worker (optimistic concurrency: an event
    another worker claimed first is left to it). Returns id -> (seq_no, primary_term)."""
    if not hits:
        return {}
    until = (now + timedelta(seconds=CLAIM_SECONDS)).isoformat()
    operations: list[dict[str, Any]] = []
    for hit in hits:
        operations += [
            {
                "update": {
                    "_index": target,
                    "_id": hit["_id"],
                    "if_seq_no": hit["_seq_no"],
                    "if_primary_term": hit["_primary_term"],
                }
            },
            {"doc": {"claimed_until": until}},
        ]
    claims = {}
    for item in es.bulk(operations=operations)["items"]:
        done = item["update"]
        if done.get("status") == 200:
            claims[done["_id"]] = (int(done["_seq_no"]), int(done["_primary_term"]))
    return claims


def _bulk_update(
    es: Elasticsearch,
    target: str,
    updates: list[_Update],
) -> list[str]:
    """Write outcomes; each guarded by the seq_no of this worker's claim, if any."""
    if not updates:
        return []
    operations: list[dict[str, Any]] = []
    for hit, doc, claim in updates:
        action: dict[str, Any] = {"_index": target, "_id": hit["_id"]}
        if claim:
            action.update(if_seq_no=claim[0], if_primary_term=claim[1])
        operations += [{"update": action}, {"doc": doc}]
    response = es.bulk(operations=operations)
    return [
        f"event {item['update']['_id']}: {item['update'].get('error')}"
        for item in response["items"]
        if item["update"].get("status", 500) >= 300
    ]


PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def first_attempt(rule: config.AlertRuleConfig, now: datetime) -> datetime:
    """Instant events are due at once; digest events at the end of their hour or day."""
    if rule.mode == "instant":
        return now
    hour = now.replace(minute=0, second=0, microsecond=0)
    if rule.mode == "hourly":
        return hour + timedelta(hours=1)
    return hour.replace(hour=0) + timedelta(days=1)


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


def _run_job(
    job: _Job, alerts: config.AlertsConfig, now: datetime, env: Mapping[str, str] | None
) -> list[dict[str, Any]]:
    """Send the job's message to each channel that has not yet taken every event in it;
    return the outcome of each event."""
    if not job.channels:
        return [
            {"status": "failed", "last_error": "rule no longer configured", "claimed_until": None}
            for _ in job.hits
        ]
    errors: dict[str, str | None] = {}
    for name in job.channels:
        waiting = [hit for hit in job.hits if not _delivered(hit, name)]
        if not waiting:
            continue  # never send twice to a channel that already took it
        try:
            send(name, alerts.channels[name], _message(waiting, job.period), env)
            errors[name] = None
        except DeliveryError as exc:
            errors[name] = str(exc)
    return [_outcome(hit, job.channels, errors, alerts, now) for hit in job.hits]


def _delivered(hit: dict[str, Any], channel: str) -> bool:
    return _is_delivered(hit["_source"].get("deliveries") or {}, channel)


def _message(hits: list[dict[str, Any]], period: str | None) -> Message:
    items = [
        AlertMessage(
            event_id=hit["_id"],
            rule_id=hit["_source"]["rule_id"],
            title=hit["_source"].get("title", ""),
            url=hit["_source"].get("url") or "",
            site=hit["_source"].get("site"),
            published_at=hit["_source"].get("published_at"),
            matched_terms=list(hit["_source"].get("matched_terms") or []),
        )
        for hit in hits
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


def _outcome(
    hit: dict[str, Any],
    channels: list[str],
    errors: dict[str, str | None],
    alerts: config.AlertsConfig,
    now: datetime,
) -> dict[str, Any]:
    event = hit["_source"]
    deliveries: dict[str, Any] = dict(event.get("deliveries") or {})
    for name, error in errors.items():
        if _delivered(hit, name):
            continue
        if error is None:
            deliveries[name] = {"status": "delivered", "at": now.isoformat()}
        else:
            deliveries[name] = {"status": "failed", "at": now.isoformat(), "error": error}
    failures = [str(deliveries[n]["error"]) for n in channels if not _is_delivered(deliveries, n)]
    attempts = int(event.get("attempts", 0)) + 1
    outcome: dict[str, Any] = {
        "deliveries": deliveries,
        "attempts": attempts,
        "claimed_until": None,
    }
    if not failures:
        outcome.update(status="delivered", delivered_at=now.isoformat(), last_error=None)
        return outcome
    matched_at = datetime.fromisoformat(event["matched_at"])
    expired = now - matched_at > timedelta(hours=alerts.expire_hours)
    backoff = timedelta(seconds=alerts.retry_base_seconds * 2 ** (attempts - 1))
    outcome.update(
        status="failed" if expired else "pending",
        last_error="; ".join(failures),
        next_attempt_at=(now + backoff).isoformat(),
    )
    return outcome


def _is_delivered(deliveries: dict[str, Any], channel: str) -> bool:
    return bool(deliveries.get(channel, {}).get("status") == "delivered")


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
    """Sync rules, match articles fetched since `since` (a catch-up: ingest already
    matched what it indexed), check spike rules, deliver what is due."""
    alerts = config.load_alerts(settings)
    es = index.make_es_client(settings)
    try:
        index.check_reachable(es, settings)
        index.ensure_indices(es, settings)
        sync_rules(es, settings, alerts)
        matched = match_since(es, settings, alerts, since)
        spikes = check_spikes(es, settings, alerts)
        delivered = deliver_pending(es, settings, alerts)
    finally:
        es.close()
    return {
        "match": vars(matched),
        "spikes": [vars(check) for check in spikes],
        "delivery": vars(delivered),
    }
