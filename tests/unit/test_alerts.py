from __future__ import annotations

from pipeline.alerts import candidate_rules, event_id, rule_query, rule_words
from pipeline.config import AlertRuleConfig


def _rule(query: str) -> AlertRuleConfig:
    return AlertRuleConfig(id="r", query=query, channels=["c"])


def test_rule_words() -> None:
    phrase = rule_words('"cruise missile" AND Pyongyang')
    assert phrase is not None and phrase.every
    assert phrase.words == {"cruise", "missile", "pyongyang"}
    either = rule_words('"cruise missile" OR "strategic missile"')
    assert either is not None and not either.every
    for always in ("missil*", "NOT Seoul", "title:Putin", '"Kim Putin"~5', "-Seoul"):
        assert rule_words(always) is None, always


def test_candidate_rules_never_drop_a_possible_match() -> None:
    articles = [{"north", "korea", "fired", "a", "cruise", "missile"}, {"seoul", "talks"}]
    rules = [
        _rule("cruise AND missile"),
        _rule("cruise AND seoul"),
        _rule("seoul OR moscow"),
        _rule("moscow AND kremlin"),
        _rule("missil*"),
    ]
    kept = [r.query for r in candidate_rules(rules, articles)]
    # "cruise AND seoul": both words occur in the batch, never in one article.
    assert kept == ["cruise AND missile", "seoul OR moscow", "missil*"]


def test_event_id_is_one_per_rule_and_story() -> None:
    assert event_id("r1", "c1") == event_id("r1", "c1")
    assert len({event_id("r1", "c1"), event_id("r1", "c2"), event_id("r2", "c1")}) == 3


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
