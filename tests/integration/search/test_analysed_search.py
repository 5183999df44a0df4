"""Searches find inflected forms of the words typed, in English, Russian and Korean,
and the snippets mark the words that matched (real Elasticsearch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.config import Settings, load_settings
from pipeline.errors import SearchSyntaxError
from pipeline.search.pages import SearchRequest, search_page
from pipeline.store import ensure_indices
from tests.conftest import delete_indices, make_test_env
from tests.support.articles import index_articles, make_article

ARTICLES = [
    ("North Korea fires missiles", "Two missiles were launched on Tuesday.", "en"),
    ("Markets calm", "Investors ignored the missile test talk.", "en"),
    ("Удар ракетой", "Власти Северной Кореи сообщили о пуске ракеты.", "ru"),
    ("북한, 순항미사일 발사", "북한이 순항미사일을 발사했다고 합참이 밝혔다.", "ko"),
]


@pytest.fixture
def indexed(es: Elasticsearch, tmp_path: Path) -> Iterator[Settings]:
    settings = load_settings(make_test_env(tmp_path))
    ensure_indices(es, settings)
    made = [
        make_article(f"https://x.example/{n}", t, x, language=lang)
        for n, (t, x, lang) in enumerate(ARTICLES)
    ]
    index_articles(es, settings, made)
    yield settings
    delete_indices(es, settings.index_prefix)


def _search(es: Elasticsearch, settings: Settings, query: str) -> dict[str, list[str]]:
    page = search_page(es, settings, SearchRequest(query=query, collapse=False))
    return {hit.title: hit.highlights for hit in page.hits}


def test_dictionary_forms_find_inflected_words_and_mark_them(
    es: Elasticsearch, indexed: Settings
) -> None:
    found = _search(es, indexed, "missile")
    assert set(found) == {"North Korea fires missiles", "Markets calm"}
    assert any("<em>missiles</em>" in h for h in found["North Korea fires missiles"])

    found = _search(es, indexed, "ракета AND Корея")
    assert list(found) == ["Удар ракетой"]
    assert any("<em>ракеты</em>" in h for h in found["Удар ракетой"])

    found = _search(es, indexed, "미사일 발사")
    assert list(found) == ["북한, 순항미사일 발사"]
    assert any("<em>순항미사일을</em>" in h for h in found["북한, 순항미사일 발사"])


@pytest.mark.parametrize("collapse", [True, False])  # rescored / exact alternative
def test_exact_forms_rank_first(es: Elasticsearch, indexed: Settings, collapse: bool) -> None:
    pair = [
        ("Navy drill", "Ships fired missiles and more missiles at sea."),  # more, inflected
        ("Navy drill", "Ships fired a missile at sea."),
    ]
    made = [make_article(f"https://y.example/{n}", t, x) for n, (t, x) in enumerate(pair)]
    index_articles(es, indexed, made)
    request = SearchRequest(query="missile drill", collapse=collapse)
    hits = search_page(es, indexed, request).hits
    assert [hit.url for hit in hits] == ["https://y.example/1", "https://y.example/0"]


def test_phrases_wildcards_and_fields_still_work(es: Elasticsearch, indexed: Settings) -> None:
    assert list(_search(es, indexed, '"missile launched"')) == []  # not adjacent
    assert list(_search(es, indexed, '"missiles were launched"')) == ["North Korea fires missiles"]
    assert list(_search(es, indexed, '"north korean missile"')) == []
    assert list(_search(es, indexed, '"северная корея"')) == ["Удар ракетой"]
    assert set(_search(es, indexed, "missil*")) == {"North Korea fires missiles", "Markets calm"}
    assert list(_search(es, indexed, "title:missile")) == ["North Korea fires missiles"]
    assert list(_search(es, indexed, "missile -markets")) == ["North Korea fires missiles"]


@pytest.mark.parametrize(
    "query",
    [
        "북한 ракета missile 中国",  # scripts mixed
        "은 는 이 가",  # Korean particles only
        "the of and",  # stop words only
        " ".join(["missile", "ракета", "미사일", "sanction"] * 120)[:2000],  # 2,000 characters
        " OR ".join(["missiles"] * 200),
    ],
)
def test_odd_queries_get_a_result_not_an_error(
    es: Elasticsearch, indexed: Settings, query: str
) -> None:
    page = search_page(es, indexed, SearchRequest(query=query, facets=True))
    assert page.total >= 0


@pytest.mark.parametrize("query", ['missile "unbalanced', "(missile OR", "a" * 2000])
def test_broken_queries_get_a_clear_error_quoting_them(
    es: Elasticsearch, indexed: Settings, query: str
) -> None:
    with pytest.raises(SearchSyntaxError, match="cannot parse query"):
        search_page(es, indexed, SearchRequest(query=query))
