from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.ingest.dedup import (
    NUM_PERM,
    content_hash,
    fingerprint,
    is_near_duplicate,
    make_fingerprint,
    minhash,
    original_source,
    similarity,
)
from pipeline.models import Article, TaggedArticle
from pipeline.store.articles import document
from scripts.bench_dedup import evaluate, fixture_stories


def test_content_hash_ignores_whitespace_punctuation_and_case() -> None:
    assert content_hash("North Korea fired a missile.\n\nSeoul said.") == content_hash(
        "north korea fired a missile seoul said"
    )
    assert content_hash("North Korea fired a missile") != content_hash("South Korea fired")


def test_fingerprint_is_stable_and_has_bands() -> None:
    text = "Russian President Vladimir Putin met Ri Hi Yong in Moscow on Wednesday. " * 5
    a, b = make_fingerprint(text), make_fingerprint(text)
    assert a == b and len(a.minhash) == 120 and len(a.bands) == 40
    assert similarity(a, b) == (1.0, 1.0)


def test_signatures_equal_datasketch_affine32_minhash() -> None:
    """Signatures are stored in the index: they must stay those of datasketch's
    MinHash(num_perm=120, seed=1, scheme="affine32"), which wrote the existing ones."""
    from datasketch import MinHash

    for text in ("", "one", "North Korea fired a missile " * 3, *fixture_stories().values()):
        words = text.lower().split()
        grams = {" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))}
        reference = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32")
        reference.update_batch(list(grams))
        assert minhash(grams) == tuple(int(v) for v in reference.hashvalues)


def test_truncated_copy_is_contained_in_the_original() -> None:
    story = fixture_stories()["fixture:troops-kursk"]
    half = story[: len(story) // 2]
    jaccard, containment = similarity(make_fingerprint(story), make_fingerprint(half))
    assert jaccard < 0.7 and containment > 0.8
    assert is_near_duplicate(make_fingerprint(story), make_fingerprint(half))


def test_different_stories_on_the_same_topic_are_not_duplicates() -> None:
    stories = fixture_stories()
    assert not is_near_duplicate(
        make_fingerprint(stories["fixture:launch-oct"]),
        make_fingerprint(stories["fixture:launch-jan"]),
    )


def test_labelled_variants_meet_precision_and_recall_targets() -> None:
    result = evaluate(fixture_stories())
    assert result["positive_pairs"] >= 50 and result["negative_pairs"] >= 500
    assert result["precision"] >= 0.98, result
    assert result["recall"] >= 0.9, result


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Body.\nOriginal Source: Hindustan Times", "Hindustan Times"),
        ("Body text (republished from hindustantimes.com) more", "hindustantimes.com"),
        ("This article was originally published on The Conversation.", "The Conversation"),
        ("This story first appeared in Yonhap, Seoul.", "Yonhap"),
        ("Sources said the original plan failed.", None),
    ],
)
def test_original_source(text: str, source: str | None) -> None:
    assert original_source(text) == source


def test_document_carries_fingerprint_and_cluster_fields() -> None:
    article = Article(
        id="abc",
        url="https://x/a?utm_source=1",
        canonical_url="https://x/a",
        title="T",
        text="Body text. Original Source: Yonhap",
        authors=["A"],
        published_at=datetime(2026, 1, 2, tzinfo=UTC),
        language="en",
        site="X",
    )
    doc = document(TaggedArticle(fingerprint(article), [], datetime(2026, 1, 3, tzinfo=UTC)))
    assert doc["content_hash"] == content_hash(article.text)
    assert len(doc["minhash"]) == 120 and len(doc["lsh_bands"]) == 40
    assert doc["original_source"] == "Yonhap"
    assert doc["published_at"] == "2026-01-02T00:00:00+00:00"
    assert doc["cluster_id"] == "abc" and doc["duplicate_of"] is None
    assert "id" not in doc and "fingerprint" not in doc and doc["topics"] == []
