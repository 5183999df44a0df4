from __future__ import annotations

from pipeline.config import TopicConfig
from pipeline.tagging import Tagger

RUSSIA_DPRK = TopicConfig(
    id="russia-dprk",
    name="Russia–DPRK",
    all_of=[["Russia", "Putin", "Moscow"], ["North Korea", "Pyongyang", "Kim Jong Un"]],
    none_of=["football"],
    min_mentions=2,
)
SANCTIONS = TopicConfig(id="sanctions", name="Sanctions", any_of=["sanctions"])


def test_all_of_groups_must_each_match_with_evidence_offsets() -> None:
    title = "Putin hosts North Korean envoy"
    text = "Moscow and Pyongyang signed a pact."
    (tag,) = Tagger([RUSSIA_DPRK]).tag(title, text)
    assert tag.topic == "russia-dprk"
    terms = {(e.field, e.term) for e in tag.evidence}
    assert ("title", "Putin") in terms and ("text", "Pyongyang") in terms
    for e in tag.evidence:
        source = title if e.field == "title" else text
        assert source[e.start : e.end] == e.term
    assert tag.score == 2.0 + 1 + 1  # title mention counts double


def test_one_group_missing_means_no_tag() -> None:
    assert Tagger([RUSSIA_DPRK]).tag("Putin visits Beijing", "Russia and China talk trade.") == []


def test_none_of_vetoes() -> None:
    text = "Russia beat North Korea at football in Moscow and Pyongyang fans cheered."
    assert Tagger([RUSSIA_DPRK]).tag("", text) == []


def test_word_boundaries_and_possessives() -> None:
    tagger = Tagger([RUSSIA_DPRK])
    assert tagger.tag("", "Russia's envoy met North Korea's minister.")
    assert tagger.tag("", "Prussia and North Koreans") == []


def test_min_mentions() -> None:
    assert Tagger([RUSSIA_DPRK]).tag("", "Russia North Korea") != []
    strict = RUSSIA_DPRK.model_copy(update={"min_mentions": 3})
    assert Tagger([strict]).tag("", "Russia North Korea") == []


def test_tags_sorted_by_score() -> None:
    tags = Tagger([SANCTIONS, RUSSIA_DPRK]).tag(
        "Putin and Kim Jong Un defy sanctions", "Russia and North Korea"
    )
    assert [t.topic for t in tags] == ["russia-dprk", "sanctions"]
