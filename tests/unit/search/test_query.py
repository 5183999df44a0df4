"""The query string rewrite: words and phrases widened, syntax passed on."""

from __future__ import annotations

from pipeline.search.query import MAX_ANALYSED_WORDS, analysed_query


def test_words_and_phrases_gain_their_analysed_forms() -> None:
    rewritten = analysed_query("ракета")
    assert rewritten == "(ракета^2 OR title_stems:(ракет)^3 OR text_stems:(ракет))"
    assert 'text_stems:("순항 미사일")' in analysed_query("순항미사일")
    phrase = analysed_query('"north korea"~2')
    assert phrase.startswith('("north korea"~2^2 OR title_stems:(')
    assert '"en_north en_korea"~2' in phrase.split("text_stems:")[1]
    assert analysed_query('title:"north korea"').startswith('(title:"north korea"^2 OR title_')


def test_syntax_is_passed_on_as_written() -> None:
    for query in ("missil*", "topics:ukraine-war", "kim~1", "date:[2026 TO 2027]", "a^3"):
        assert analysed_query(query) == query
    rewritten = analysed_query("(missile OR rocket) AND NOT drill")
    assert rewritten.startswith("( (missile^2 OR") and " AND NOT (drill^2 OR " in rewritten
    assert analysed_query("-drill").startswith("-(drill^2 OR ")
    assert analysed_query("title:sanction").startswith("(title:sanction^2 OR title_stems:(")
    assert "text_stems" not in analysed_query("title:sanction")


def test_long_queries_are_bounded() -> None:
    rewritten = analysed_query(" ".join(["ракета"] * (MAX_ANALYSED_WORDS + 10)))
    assert rewritten.count("text_stems") == MAX_ANALYSED_WORDS
