from __future__ import annotations

from pathlib import Path

import py3langid.langid as langid_module
import pytest

from pipeline.ingest.extract import detect_language, extract, load_language_model, reconcile
from pipeline.models import FeedEntry
from tests.support import FIXTURES

ARTICLES = FIXTURES / "site" / "articles"
URL = "https://news.example/articles/putin-ri-hi-yong.html?utm_source=rss"


def test_extracts_body_and_metadata() -> None:
    article = extract((ARTICLES / "putin-ri-hi-yong.html").read_bytes(), URL).article
    assert article is not None
    assert (
        article.title == "Putin Strengthens Ties with North Korea Amid Missile Tests by Kim Jong Un"
    )
    assert article.authors == ["Anna Petrova"]
    assert (
        article.published_at is not None and article.published_at.date().isoformat() == "2026-11-20"
    )
    assert article.language == "en"
    assert article.site == "Fixture World News"
    assert article.canonical_url == "https://news.example/articles/putin-ri-hi-yong.html"
    assert "strategic cruise missile that flew 1,587 km" in article.text
    assert "All rights reserved" not in article.text and "Markets close higher" not in article.text


def test_page_without_article_text_gives_none() -> None:
    html = b"<html><body><nav><a href='/'>Home</a></nav><p>Subscribe</p></body></html>"
    assert extract(html, "https://news.example/empty").article is None


def test_language_detection_is_offline() -> None:
    assert detect_language("Президент России встретился с делегацией КНДР в Москве.") == "ru"
    assert (
        detect_language("북한이 동해상으로 탄도미사일을 발사했다고 합동참모본부가 밝혔다.") == "ko"
    )
    assert detect_language("   ") is None


LANGUAGE_SAMPLES = [
    "Президент России встретился с делегацией КНДР в Москве.",
    "북한이 동해상으로 탄도미사일을 발사했다고 합동참모본부가 밝혔다.",
    "The envoy arrived in Pyongyang on Tuesday for talks on the treaty.",
    "Der Gesandte traf am Dienstag zu Gesprächen in Pjöngjang ein.",
]


def test_cached_language_model_ranks_as_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(langid_module, "IDENTIFIER", None)
    packaged = langid_module._load_identifier()
    load_language_model(tmp_path)  # decompresses into the cache
    [cached_file] = tmp_path.glob("langid-model-*.npz")
    monkeypatch.setattr(langid_module, "IDENTIFIER", None)
    load_language_model(tmp_path)  # reads the cached copy
    cached = langid_module.IDENTIFIER
    assert cached is not None and cached is not packaged
    for text in LANGUAGE_SAMPLES:
        assert cached.rank(text) == packaged.rank(text)
    assert [p.name for p in tmp_path.iterdir()] == [cached_file.name]  # no partial files left


def test_broken_language_model_cache_falls_back_to_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(langid_module, "IDENTIFIER", None)
    load_language_model(tmp_path)
    [cached_file] = tmp_path.glob("langid-model-*.npz")
    cached_file.write_bytes(b"not a model")
    monkeypatch.setattr(langid_module, "IDENTIFIER", None)
    load_language_model(tmp_path)
    assert detect_language(LANGUAGE_SAMPLES[0]) == "ru"
    assert not cached_file.exists()  # the broken copy is gone: the next start makes it anew


def test_reconcile_trims_unconfirmed_tail() -> None:
    story = "\n".join(
        f"Paragraph {i} of the story says something about the talks in Moscow." for i in range(8)
    )
    junk = "Related: Ten photos of Pyongyang\nComments (3)\nanon: first"
    text, source = reconcile(f"{story}\n{junk}", story)
    assert text == story and source == "trafilatura+readability"


def test_reconcile_keeps_main_text_when_the_extractors_disagree() -> None:
    main = "\n".join(f"Line {i} of the real article about the missile launch." for i in range(8))
    other = "Completely different text from a sidebar with enough words to make shingles."
    assert reconcile(main, other) == (main, "trafilatura")
    assert reconcile("", other) == (other, "readability")


def test_paywalled_page_is_recorded_not_indexed() -> None:
    result = extract((ARTICLES / "paywalled.html").read_bytes(), "https://news.example/p")
    assert result.article is None and result.problem == "paywalled"


def test_feed_summary_is_the_last_fallback() -> None:
    summary = (
        "<p>" + "Pyongyang's munitions plants run day and night, officials said. " * 5 + "</p>"
    )
    entry = FeedEntry("f", "https://news.example/p", "Inside the factories", summary, None, "g")
    result = extract((ARTICLES / "paywalled.html").read_bytes(), entry.url, entry)
    assert result.article is not None and result.article.text_source == "feed"
    assert "<p>" not in result.article.text and result.problem == "paywalled"


def test_headline_is_not_repeated_as_first_body_line() -> None:
    article = extract((ARTICLES / "hwasong-launch.html").read_bytes(), URL).article
    assert article is not None
    assert not article.text.startswith(article.title)
