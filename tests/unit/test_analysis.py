"""Language analysis: the same forms at index and at query time."""

from __future__ import annotations

import pytest

from pipeline.analysis import analyze, highlight_stems, phrase_forms, word_forms


@pytest.mark.parametrize(
    ("query", "text", "language"),
    [
        ("missile", "Two missiles were fired", "en"),
        ("sanction", "new sanctions on banks", "en"),
        ("ракета", "удар ракетой по складу", "ru"),
        ("Корея", "власти Северной Кореи", "ru"),
        ("Корея", "призвал Корею к диалогу", "ru"),
        ("визит", "во время визита", "ru"),
        ("북한", "북한이 발사했다", "ko"),
        ("발사", "미사일을 발사했다", "ko"),
        ("미사일", "순항미사일을 시험", "ko"),
        ("steal", "hackers stole funds", "en"),
        ("child", "the children were evacuated", "en"),
        ("уголь", "экспорт угля вырос", "ru"),
        ("посол", "послу вручили ноту", "ru"),
        ("северный", "власти северной кореи", "ru"),
        ("북한", "북한군이 파병됐다", "ko"),
    ],
)
def test_a_dictionary_form_finds_an_inflected_one(query: str, text: str, language: str) -> None:
    indexed = f" {analyze(text, language)} "
    assert any(f" {form} " in indexed for form in word_forms(query)), (indexed, word_forms(query))


@pytest.mark.parametrize(
    ("query", "text", "language"),
    [
        ("договор", "стороны договорились", "ru"),  # the verb is not the noun
        ("ответ", "КНДР ответила", "ru"),
        ("посол", "после визита", "ru"),
        ("steal", "the steel plant", "en"),
        ("win", "a billion won", "en"),  # `won` is left to the Korean currency
        ("해군", "북한군이 파병됐다", "ko"),
    ],
)
def test_other_words_stay_apart(query: str, text: str, language: str) -> None:
    indexed = f" {analyze(text, language)} "
    assert not any(f" {form} " in indexed for form in word_forms(query)), indexed


def test_latin_stems_carry_the_language_so_languages_do_not_mix() -> None:
    assert analyze("news", "en") == "en_news"
    assert analyze("news", "fr") == "fr_new"
    assert "fr_new" not in analyze("new", "en")  # "news" in French never finds English "new"
    assert analyze("NATO 정상회담", "ko") == "en_nato 정상 회담"  # Latin in Korean: English


def test_particles_endings_han_and_empty_text_give_no_forms() -> None:
    assert analyze("북한은 미사일을", "ko") == "북한 미사일" and word_forms("中国") == []
    assert analyze("", "en") == "" and analyze("中国", "zh") == ""


def test_phrases_stem_every_word_in_one_language() -> None:
    forms = phrase_forms(["missile", "launches"])
    assert "en_missil en_launch" in forms
    assert all(len({part.split("_")[0] for part in form.split()}) == 1 for form in forms)


def test_highlight_stems_are_english_for_latin_words() -> None:
    assert highlight_stems("missiles") == ["missil"]
    assert highlight_stems("stole") == ["steal", "stole", "stolen"]
    assert "미사일" in highlight_stems("미사일")
    assert {"угля", "уголь", "углем"} <= set(highlight_stems("уголь"))
