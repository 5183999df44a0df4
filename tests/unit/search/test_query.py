"""The query string rewrite: words and phrases widened, syntax passed on."""

from __future__ import annotations

from pipeline.search.query import MAX_ANALYSED_WORDS, analysed_query


def test_words_and_phrases_gain_their_analysed_forms() -> None:
    assert analysed_query("ракета") == "(title_stems:(ракета)^3 OR text_stems:(ракета))"
    assert 'text_stems:("순항 미사일")' in analysed_query("순항미사일")
    phrase = analysed_query('"north korea"~2', latin=["en"])
    assert phrase == (
        '(title_stems:("en_north en_korea"~2)^3 OR text_stems:("en_north en_korea"~2))'
    )
    assert analysed_query('title:"north korea"', ["en"]) == '(title_stems:("en_north en_korea")^3)'


def test_exact_forms_are_an_alternative_when_asked() -> None:
    rewritten = analysed_query("ракета", exact=True)
    assert rewritten == "(ракета^2 OR title_stems:(ракета)^3 OR text_stems:(ракета))"
    assert analysed_query('title:"north korea"', exact=True).startswith(
        '(title:"north korea"^2 OR title_stems:('
    )


def test_words_without_an_analysed_form_match_as_written() -> None:
    assert analysed_query("東京") == "東京"


def test_syntax_is_passed_on_as_written() -> None:
    for query in ("missil*", "topics:ukraine-war", "kim~1", "date:[2026 TO 2027]", "a^3"):
        assert analysed_query(query) == query
    rewritten = analysed_query("(missile OR rocket) AND NOT drill")
    assert rewritten.startswith("( (title_stems:(") and " AND NOT (title_stems:(" in rewritten
    assert analysed_query("-drill").startswith("-(title_stems:(")
    assert analysed_query("title:sanction").startswith("(title_stems:(")
    assert "text_stems" not in analysed_query("title:sanction")


def test_long_queries_are_bounded() -> None:
    rewritten = analysed_query(" ".join(["ракета"] * (MAX_ANALYSED_WORDS + 10)))
    assert rewritten.count("text_stems") == MAX_ANALYSED_WORDS
