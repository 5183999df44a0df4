from __future__ import annotations

from pipeline.alerts.rules import rule_query
from pipeline.config import AlertRuleConfig
from pipeline.models import AlertEvent


def test_event_id_is_one_per_rule_and_story() -> None:
    assert AlertEvent.make_id("r1", "c1") == AlertEvent.make_id("r1", "c1")
    pairs = [("r1", "c1"), ("r1", "c2"), ("r2", "c1")]
    assert len({AlertEvent.make_id(rule, story) for rule, story in pairs}) == 3


def test_rule_query_filters() -> None:
    rule = AlertRuleConfig(
        id="r",
        query="x",
        topics=["t"],
        sources=["tass"],
        languages=["en"],
        entities=["kim-jong-un"],
        channels=["c"],
    )
    filters = rule_query(rule)["bool"]["filter"]
    assert {"terms": {"topics": ["t"]}} in filters
    assert {"terms": {"language": ["en"]}} in filters
    assert {"terms": {"entities": ["kim-jong-un"]}} in filters
