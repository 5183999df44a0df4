from __future__ import annotations

from pipeline.alerts.rule_filter import (
    AllOf,
    AnyOf,
    ArticleTerms,
    Phrase,
    RuleFilter,
    Word,
    matched_terms,
    parse,
    tokens,
)
from pipeline.config import AlertRuleConfig


def _rule(query: str, **filters: list[str]) -> AlertRuleConfig:
    return AlertRuleConfig(id="r", query=query, channels=["c"], **filters)


def _article(title: str, text: str = "", **fields: object) -> ArticleTerms:
    return ArticleTerms.from_source({"title": title, "text": text, **fields})


def test_tokens_split_like_the_standard_analyzer() -> None:
    assert tokens("Kim Jong-un's U.S. trip_2") == ["kim", "jong", "un", "s", "u", "s", "trip", "2"]
    assert tokens("朝鲜发射导弹") == [
        "朝",
        "鲜",
        "发",
        "射",
        "导",
        "弹",
    ]  # one token per Han character
    assert tokens("북한의 미사일") == ["북한의", "미사일"]


def test_parse_plain_queries() -> None:
    assert parse("cruise missile") == AllOf((Word("cruise"), Word("missile")))
    assert parse('"cruise missile" OR Pyongyang') == AnyOf(
        (Phrase(("cruise", "missile")), Word("pyongyang"))
    )
    assert parse("(a OR b) AND c") == AllOf((AnyOf((Word("a"), Word("b"))), Word("c")))
    # AND mixed with OR in one group: Lucene's precedence is odd, so any term may do.
    assert parse("a AND b OR c") == AnyOf((Word("a"), Word("b"), Word("c")))
    # A chunk that analyzes to several tokens needs only one of them.
    assert parse("Kim-Jong") == AnyOf((Word("kim"), Word("jong")))


def test_parse_gives_up_on_syntax_it_does_not_evaluate() -> None:
    for query in (
        "missil*",
        "NOT Seoul",
        "-Seoul",
        "title:Putin",
        '"Kim Putin"~5',
        "Kim~",
        "a^2",
        "(a OR b",
        'a "b',
        "[a TO b]",
        "/reg.x/",
    ):
        assert parse(query) is None, query


def test_phrases_need_adjacent_words_within_one_field() -> None:
    article = _article("Cruise tests", "North Korea fired a cruise missile.")
    assert article.has_phrase(("cruise", "missile"))
    assert not article.has_phrase(("missile", "cruise"))
    assert not article.has_phrase(("tests", "north"))  # title end + text start


def test_candidates_never_drop_a_possible_match() -> None:
    articles = [
        _article("North Korea fired a cruise missile", topics=["dprk-missile-tests"], site="kcna"),
        _article("Seoul talks", "Trade talks in Seoul.", topics=[], site="yonhap"),
    ]
    rules = [
        _rule("cruise AND missile"),
        _rule("cruise AND seoul"),  # both words occur in the batch, never in one article
        _rule("seoul OR moscow"),
        _rule("moscow AND kremlin"),
        _rule('"missile cruise"'),
        _rule("missil*"),
        _rule("talks", topics=["dprk-missile-tests"]),
        _rule("talks", sources=["yonhap"]),
    ]
    kept = [(rule.query, rule.topics, at) for rule, at in RuleFilter().candidates(rules, articles)]
    assert kept == [
        ("cruise AND missile", [], [0]),
        ("seoul OR moscow", [], [1]),
        ("missil*", [], [0, 1]),
        ("talks", [], [1]),
    ]


def test_matched_terms() -> None:
    article = _article("Cruise missile launch", "Pyongyang said the test succeeded.")
    query = '"cruise missile" OR (Pyongyang AND Moscow)'
    assert matched_terms(parse(query), query, article) == ["cruise missile", "pyongyang"]
    assert matched_terms(None, "missil* OR title:launch", article) == ["launch"]
