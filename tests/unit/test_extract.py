from __future__ import annotations

from pathlib import Path

from pipeline.extract import detect_language, extract_article

ARTICLES = Path(__file__).resolve().parents[1] / "fixtures" / "site" / "articles"
URL = "https://news.example/articles/putin-ri-hi-yong.html?utm_source=rss"


def test_extracts_body_and_metadata() -> None:
    article = extract_article((ARTICLES / "putin-ri-hi-yong.html").read_bytes(), URL)
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
    assert extract_article(html, "https://news.example/empty") is None


def test_language_detection_is_offline() -> None:
    assert detect_language("Президент России встретился с делегацией КНДР в Москве.") == "ru"
    assert (
        detect_language("북한이 동해상으로 탄도미사일을 발사했다고 합동참모본부가 밝혔다.") == "ko"
    )
    assert detect_language("   ") is None
