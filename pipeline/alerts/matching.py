"""Which new articles match which alert rules; each (rule, story) becomes one AlertEvent.

The local Elasticsearch distribution has no percolator module, so rules are matched
the other way round: each batch of new articles is searched with the rules' queries,
each restricted to the batch's ids (one _msearch per 200 rules). `rule_filter` first
drops the rules (and articles) that cannot match, which keeps thousands of rules
cheap. Results equal `newsmon search` exactly: same query, same index.

Once per story: an event's id is the hash of (rule id, cluster id) and it is written
create-only, so reruns, retries and syndicated copies of a story send nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.alerts.digests import first_attempt
from pipeline.alerts.rule_filter import ArticleTerms, RuleFilter, matched_terms
from pipeline.alerts.rules import rule_query
from pipeline.config import AlertRuleConfig, AlertsConfig, Settings
from pipeline.models import AlertEvent
from pipeline.store import alert_events, articles

RULES_PER_MSEARCH = 200
MATCH_BATCH = 500  # articles per round of matching in a catch-up
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
    "title_stems",
    "text_stems",
]
_RULE_FILTER = RuleFilter()


@dataclass
class MatchSummary:
    articles: int = 0
    candidate_rules: int = 0
    matches: int = 0
    events_created: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, part: MatchSummary) -> None:
        self.articles += part.articles
        self.candidate_rules += part.candidate_rules
        self.matches += part.matches
        self.events_created += part.events_created
        self.errors += part.errors


def match_since(
    es: Elasticsearch, settings: Settings, alerts: AlertsConfig, since: datetime
) -> MatchSummary:
    """Match articles fetched since `since` and create the events (create-only)."""
    query = {"query": {"range": {"fetched_at": {"gte": since.isoformat()}}}}
    summary = MatchSummary()
    batch: list[dict[str, Any]] = []
    for hit in articles.scan(es, settings, query, ARTICLE_FIELDS):
        batch.append(hit)
        if len(batch) == MATCH_BATCH:
            summary.add(match_articles(es, settings, alerts, batch))
            batch = []
    summary.add(match_articles(es, settings, alerts, batch))
    return summary


def match_articles(
    es: Elasticsearch,
    settings: Settings,
    alerts: AlertsConfig,
    batch: list[dict[str, Any]],
    prefilter: bool = True,
) -> MatchSummary:
    """Match a batch of indexed articles (hits with ARTICLE_FIELDS) against the rules."""
    summary = MatchSummary(articles=len(batch))
    rules = [rule for rule in alerts.rules if rule.enabled]
    if not rules or not batch:
        return summary
    terms = [ArticleTerms.from_source(hit["_source"]) for hit in batch]
    if prefilter:
        candidates = _RULE_FILTER.candidates(rules, terms)
    else:
        candidates = [(rule, list(range(len(batch)))) for rule in rules]
    summary.candidate_rules = len(candidates)
    # Stems for the index's languages and the batch's (one may be new to the index).
    batch_languages = {str(t.fields.get("language")) for t in terms}
    latin = {*articles.latin_languages(es, settings), *batch_languages}
    events = []
    for start in range(0, len(candidates), RULES_PER_MSEARCH):
        chunk = candidates[start : start + RULES_PER_MSEARCH]
        bodies = [rule_search(rule, [batch[i]["_id"] for i in at], latin) for rule, at in chunk]
        responses = articles.msearch(es, settings, bodies)
        for (rule, at), response in zip(chunk, responses, strict=True):
            if "error" in response:
                summary.errors.append(
                    f"rule {rule.id}: {articles.short_error(str(response['error']))}"
                )
                continue
            by_id = {batch[i]["_id"]: (batch[i], terms[i]) for i in at}
            for hit in response["hits"]["hits"]:
                summary.matches += 1
                events.append(_event(rule, *by_id[hit["_id"]]))
    summary.events_created = alert_events.create(es, settings, events)
    return summary


def rule_search(
    rule: AlertRuleConfig, ids: list[str], latin: Iterable[str] | None = None
) -> dict[str, Any]:
    """The rule's search, restricted to the articles it may match; only ids come back."""
    query = rule_query(rule, latin)
    query["bool"]["filter"].append({"ids": {"values": ids}})
    return {"query": query, "size": len(ids), "_source": False, "track_total_hits": False}


def _event(rule: AlertRuleConfig, hit: dict[str, Any], terms: ArticleTerms) -> AlertEvent:
    source = hit["_source"]
    now = datetime.now(UTC)
    return AlertEvent.new(
        rule.id,
        source.get("cluster_id") or hit["_id"],
        now,
        first_attempt(rule, now),
        kind="story",
        article_id=hit["_id"],
        title=source.get("title", ""),
        url=source.get("url"),
        site=source.get("site"),
        published_at=source.get("published_at"),
        matched_terms=matched_terms(_RULE_FILTER.node(rule.query), rule.query, terms),
    )
