from __future__ import annotations

import bisect
import random
import re
from pathlib import Path

import pytest

from pipeline.config import (
    REPO_CONFIG_DIR,
    EntityConfig,
    GroupConfig,
    Taxonomy,
    TopicConfig,
    load_taxonomy,
)
from pipeline.devtools.tag_eval import evaluate, load_labelled
from pipeline.errors import ConfigError
from pipeline.ingest import _scan
from pipeline.ingest.tag import PlainTagger, Tagger, _Layout
from tests.support import FIXTURES

LABELLED = FIXTURES / "tagging" / "labelled.jsonl"
STARTER_TOPICS = [
    "russia-dprk-relations",
    "dprk-missile-tests",
    "dprk-nuclear-program",
    "ukraine-war",
    "russia-china-relations",
    "inter-korean-relations",
    "us-dprk-relations",
    "sanctions",
    "korean-peninsula",
    "south-korea-politics",
]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_taxonomy(REPO_CONFIG_DIR / "topics.yaml"))


def refs(tagger: Tagger, text: str) -> list[tuple[str, str]]:
    """Entity matches (phrases left out)."""
    found = tagger.matcher.find("text", text)
    return [(m.term, m.ref) for m in found if not m.ref.startswith("phrase:")]


def test_longest_alias_wins_and_word_boundaries_hold(tagger: Tagger) -> None:
    assert refs(tagger, "North Korea's envoy") == [("North Korea", "north-korea")]
    assert refs(tagger, "South Korea and Korea") == [("South Korea", "south-korea")]
    assert refs(tagger, "Kim met Kim Jong Un") == [("Kim Jong Un", "kim-jong-un")]
    assert refs(tagger, "Prussia, Belorussian, russian") == [("russian", "russia")]


def test_multilingual_aliases_with_inflections(tagger: Tagger) -> None:
    assert refs(tagger, "Россией и КНДР") == [("Россией", "russia"), ("КНДР", "north-korea")]
    # Two aliases of one entity (Росси*, Российск*) on one word: one mention, not two.
    assert refs(tagger, "Российские войска") == [("Российские", "russia")]
    assert refs(tagger, "북한이 김정은의") == [
        ("북한이", "north-korea"),
        ("김정은의", "kim-jong-un"),
    ]
    assert refs(tagger, "Путина встретили в Пхеньяне") == [
        ("Путина", "vladimir-putin"),
        ("Пхеньяне", "pyongyang"),
    ]


def test_capitals_aliases_match_only_in_capitals(tagger: Tagger) -> None:
    assert refs(tagger, "the US and the UN") == [("US", "united-states"), ("UN", "united-nations")]
    assert refs(tagger, "let us go, un jour") == []


def test_mention_offsets_point_at_the_text(tagger: Tagger) -> None:
    text = "Ё Putin said Pyongyang's envoy was welcome. 북한의 입장"
    for mention in tagger.matcher.find("text", text):
        assert text[mention.start : mention.end] == mention.term


def test_tag_carries_evidence_window_score_and_parent(tagger: Tagger) -> None:
    result = tagger.analyze(
        "Putin meets North Korean envoy",
        "Vladimir Putin met North Korea's Ri Hi Yong in Moscow on Wednesday.\n"
        "The two sides discussed the treaty signed in Pyongyang last year.",
    )
    by_topic = {tag.topic: tag for tag in result.tags}
    tag = by_topic["russia-dprk-relations"]
    assert tag.window == "Putin meets North Korean envoy"
    assert tag.score == 6.0 and tag.via is None  # weakest side: North Korea, title + lead
    assert {m.ref for m in tag.evidence} >= {"vladimir-putin", "north-korea", "ri-hi-yong"}
    assert by_topic["korean-peninsula"].via == "russia-dprk-relations"
    assert {e.id for e in result.entities} >= {"vladimir-putin", "ri-hi-yong", "moscow"}
    assert next(e for e in result.entities if e.id == "ri-hi-yong").type == "person"


def test_incidental_late_mention_does_not_tag(tagger: Tagger) -> None:
    text = (
        "Russia and China agreed on Tuesday to expand trade in roubles and yuan. "
        "Officials discussed energy, farming and a new bridge over the Amur river. "
        * 3
        + "Separately, Russia said it was watching North Korea."
    )
    topics = {t.topic for t in tagger.tag("Russia and China expand trade", text)}
    assert "russia-china-relations" in topics
    assert "russia-dprk-relations" not in topics


def test_a_late_mention_counts_half_only_in_a_text_long_enough_for_asides() -> None:
    topic = TopicConfig(id="t", name="T", all_of=["seoul", "talks"], min_score=1)
    tagger = Tagger(_taxonomy(topic))
    filler = "The weather was mild and the markets were quiet all week. "
    brief = filler * 2 + "Seoul proposed talks."  # a few sentences: nothing is an aside
    assert [tag.score for tag in tagger.tag("", brief)] == [1.0]
    long = filler * 12 + "Seoul proposed talks."  # 700 characters: the end is an aside
    assert tagger.tag("", long) == []


def test_against_terms_outweigh_only_a_story_about_something_else(tagger: Tagger) -> None:
    impeachment = "The impeachment inquiry examined military aid to Ukraine during the war."
    assert "ukraine-war" not in {t.topic for t in tagger.tag("Impeachment inquiry", impeachment)}
    aid = (
        "Congress approved air defence missiles for Ukraine's troops on the front line. "
        "The vote came despite a dispute over an impeachment inquiry."
    )
    assert "ukraine-war" in {t.topic for t in tagger.tag("Ukraine aid approved", aid)}


def test_none_of_still_vetoes() -> None:
    taxonomy = _taxonomy(TopicConfig(id="t", name="T", any_of=["talks"], none_of=["seoul"]))
    assert Tagger(taxonomy).tag("", "The talks went well.")
    assert Tagger(taxonomy).tag("", "The talks in Seoul went well.") == []


def test_a_topic_holds_when_any_of_its_rules_does(tagger: Tagger) -> None:
    """Inter-Korean relations: a leaders' summit without any inter-Korean word."""
    text = (
        "South Korean President Lee Jae-myung said he was ready to meet Kim Jong Un "
        "without conditions. Pyongyang did not respond."
    )
    tags = {t.topic: t for t in tagger.tag("Lee offers to meet Kim", text)}
    assert "inter-korean-relations" in tags
    assert {m.ref for m in tags["inter-korean-relations"].evidence} >= {
        "kim-jong-un",
        "lee-jae-myung",
    }
    other = "Lee Jae-myung met Japan's prime minister. They discussed the threat from North Korea."
    assert "inter-korean-relations" not in {t.topic for t in tagger.tag("", other)}


def test_korean_particles_and_compounds(tagger: Tagger) -> None:
    def found(text: str) -> list[tuple[str, str]]:
        return [(m.term, m.ref) for m in tagger.matcher.find("text", text)]

    assert ("핵을", "phrase:핵") in found("북한은 핵을 포기하지 않는다")
    assert found("핵심 의제") == []  # 핵 ("nuclear") is not read inside 핵심 ("core")
    assert found("북, 미사일")[0] == ("북", "north-korea")
    assert ("북쪽", "north-korea") not in found("북쪽 지역")
    assert ("미사일", "phrase:미사일") in found("순항미사일 발사")  # end of a compound
    assert [r for _, r in found("발사탄도미사일")] == ["phrase:발사", "phrase:탄도미사일"]
    assert found("남북 당국회담") == [("남북", "phrase:남북")]  # 국회 is not in 당국회담
    assert found("태평양에서") == []  # a name is never the end of a compound


def test_why_a_topic_was_not_tagged(tagger: Tagger) -> None:
    text = (
        "Vladimir Putin and Xi Jinping discussed trade in Moscow. They said pressure over "
        "North Korea's nuclear weapons would not help.\nMost of the talks were about gas."
    )
    why = tagger.why_not("Putin and Xi discuss trade", text)
    assert "russia-china-relations" not in why  # tagged
    assert why["russia-dprk-relations"] == "score 1.5 < 2 (dprk 1.5)"  # one passing mention
    assert why["dprk-missile-tests"] == "no mention of missile-terms, launch-terms"
    assert "sanctions" not in why  # none of its terms is mentioned: nothing to explain
    impeachment = tagger.why_not("Impeachment inquiry", "It examined aid to Ukraine in the war.")
    # Half the title's impeachment (3) comes off Ukraine's one mention.
    expected = "score -0.5 < 1.5 (ukraine 1, less 1.5 for impeachment-terms)"
    assert impeachment["ukraine-war"] == expected


def test_the_score_filter_drops_no_rule_that_holds(tagger: Tagger) -> None:
    """The array filter changes nothing: the same tags as every rule checked in Python."""
    every_rule = PlainTagger(tagger.taxonomy)
    for path in (LABELLED, FIXTURES / "tagging" / "heldout.jsonl"):
        for item in load_labelled(path):
            title, text = item["title"], item["text"]
            assert tagger.tag(title, text) == every_rule.tag(title, text), item["id"]


def _taxonomy(*topics: TopicConfig) -> Taxonomy:
    return Taxonomy(
        entities={"seoul": EntityConfig(id="seoul", type="place", name="Seoul", aliases=["Seoul"])},
        groups={"talks": GroupConfig(phrases=["talks"])},
        topics=list(topics),
    )


@pytest.mark.parametrize(
    ("yaml_text", "key", "problem"),
    [
        (
            "topics:\n  - id: t\n    name: T\n    all_of: [nowhere]\n",
            "topics[0] (t).all_of[0]",
            "unknown group or entity 'nowhere'",
        ),
        ("topics:\n  - id: t\n    name: T\n", "topics[0] (t)", "needs all_of or any_of"),
        (
            "topics:\n  - id: t\n    name: T\n    any_of: [g]\n    parent: p\n"
            "groups:\n  g: {phrases: [x]}\n",
            "topics[0] (t).parent",
            "unknown topic 'p'",
        ),
        ("groups:\n  g: {entities: [ghost]}\n", "groups.g.entities[0]", "unknown entity 'ghost'"),
        (
            "topics:\n  - id: t\n    name: T\n    any_of: [g]\n    against: {ghost: 1}\n"
            "groups:\n  g: {phrases: [x]}\n",
            "topics[0] (t).against[0]",
            "unknown group or entity 'ghost'",
        ),
        (
            "topics:\n  - id: t\n    name: T\n    any_of: [g]\n    also: [{near: [g]}]\n"
            "groups:\n  g: {phrases: [x]}\n",
            "topics[0] (t).also[0]",
            "",
        ),
        (
            "topics:\n  - id: t\n    name: T\n    any_of: [g]\n    window: fortnight\n"
            "groups:\n  g: {phrases: [x]}\n",
            "topics[0] (t).window",
            "Input should be",
        ),
    ],
)
def test_rule_errors_name_topic_and_key(
    tmp_path: Path, yaml_text: str, key: str, problem: str
) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        load_taxonomy(path)
    assert info.value.key.startswith(key), info.value
    assert problem in info.value.problem


def test_labelled_set_meets_accuracy_targets(tagger: Tagger) -> None:
    items = load_labelled(LABELLED)
    assert len(items) >= 80
    scores = evaluate(tagger, items)
    for topic in STARTER_TOPICS:
        score = scores[topic]
        assert score.support >= 8, topic
        assert score.precision >= 0.95, (topic, score.false_positives)
        assert score.recall >= 0.9, (topic, score.false_negatives)


def test_word_window_needs_the_terms_within_n_words() -> None:
    topic = TopicConfig(
        id="t", name="T", all_of=["seoul", "talks"], near=["seoul", "talks"], window=5
    )
    tagger = Tagger(_taxonomy(topic))
    near = tagger.tag("", "Seoul said the talks went well. Seoul again. Talks again.")
    assert near and near[0].window == "Seoul said the talks"
    far = "Seoul " + "word " * 10 + "talks"
    assert tagger.tag("", far) == []


# What the array-built layout must equal: the regex definitions of a sentence break, a
# paragraph break and a word.
SENTENCE_BREAK = re.compile(r"[.!?。]\s+|\n+")
PARAGRAPH_BREAK = re.compile(r"\n+")
WORD = re.compile(r"\w+")
TRICKY = [
    "",
    "a",
    ".",
    "\n",
    "x.\n\n y",
    "a\n  \nb",
    "Hi! \u3000Ok",
    "끝。다음",
    "\n.\n",
    "𝐀b c😀d_e",
]


@pytest.mark.parametrize("seed", range(5))
def test_layout_positions_equal_their_regex_definitions(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = list("ab1_ .!?。\n\t\u3000\u00a0-북Я😀𝐀")
    texts = TRICKY + ["".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(400)]
    for text in texts:
        layout = _Layout(text)
        assert layout.sentence_starts == [0] + [m.end() for m in SENTENCE_BREAK.finditer(text)]
        assert layout.paragraph_starts == [0] + [m.end() for m in PARAGRAPH_BREAK.finditer(text)]
        assert layout.word_starts == [m.start() for m in WORD.finditer(text)], text
        first_break = layout.paragraph_starts[1] if len(layout.paragraph_starts) > 1 else -1
        assert layout.lead_limits == (max(1, len(text)), first_break), text
        # ... and so must the compiled one, with each offset's sentence, paragraph, word.
        offsets = sorted(rng.sample(range(len(text)), min(len(text), 5)))
        compiled = _scan.layout(text, offsets)
        assert compiled[:2] == (layout.sentence_starts, layout.paragraph_starts), text
        for starts, indexes in zip(
            (layout.sentence_starts, layout.paragraph_starts, layout.word_starts),
            compiled[2:],
            strict=True,
        ):
            assert indexes == [bisect.bisect_right(starts, at) - 1 for at in offsets], text


def test_the_compiled_finder_is_built_and_in_use(tagger: Tagger) -> None:
    """`make venv` compiles pipeline/ingest/_scan.c; the build is optional (no compiler:
    the Python finder), so a failed build must show here rather than as a slow tagger."""
    assert tagger.matcher.compiled


@pytest.mark.parametrize("seed", range(3))
def test_the_compiled_finder_equals_the_python_one(tagger: Tagger, seed: int) -> None:
    rng = random.Random(seed)
    pieces = [
        *"aeiou rstnk.,!?\n-_'’²١Ⅻǅ",
        *"북한이의핵을은는과와으로에서",
        "DPRK",
        "US",
        "us",
        "Korea",
    ]
    pieces += ["North Korea", "Россия", "КНДР", "россией", "김정은", "순항미사일", "평양", "太平"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 60))) for _ in range(500)]
    if seed == 0:
        texts += [t for item in load_labelled(LABELLED) for t in (item["title"], item["text"])]
    for text in texts:
        assert tagger.matcher.find("text", text) == tagger.matcher.find_in_python("text", text)


def test_without_the_compiled_parts_the_tags_are_the_same(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the C part did not build, the Python finder and layout give the same tags."""
    monkeypatch.setattr("pipeline.ingest.tag._scan", None)
    in_python = Tagger(tagger.taxonomy)
    assert not in_python.matcher.compiled
    for item in load_labelled(LABELLED):
        title, text = item["title"], item["text"]
        assert in_python.analyze(title, text) == tagger.analyze(title, text), item["id"]
