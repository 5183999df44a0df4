from datetime import UTC, datetime

from pipeline.dedup import content_hash, fingerprint
from pipeline.models import Article, TaggedArticle


def test_content_hash_ignores_whitespace_punctuation_and_case() -> None:
    assert content_hash("North Korea fired a missile.\n\nSeoul said.") == content_hash(
        "north korea fired a missile seoul said"
    )
    assert content_hash("North Korea fired a missile") != content_hash(
        "South Korea fired a missile"
    )


def test_fingerprint_and_document() -> None:
    article = Article(
        id="abc",
        url="https://x/a?utm_source=1",
        canonical_url="https://x/a",
        title="T",
        text="Body text",
        authors=["A"],
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        language="en",
        site="X",
    )
    doc = TaggedArticle(fingerprint(article), [], datetime(2026, 1, 3, tzinfo=UTC)).to_document()
    assert doc["content_hash"] == content_hash("Body text")
    assert doc["published_at"] == "2026-01-02T00:00:00+00:00"
    assert doc["cluster_id"] == "abc" and "id" not in doc and doc["topics"] == []
