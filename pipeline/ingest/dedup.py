"""Dedup stage: exact and near-duplicate detection, story clusters.

- Exact: the article id is the hash of its canonical URL (pipeline.urls), and
  `content_hash` catches the same body under two URLs.
- Near-duplicate: a MinHash signature of the body's word 3-shingles, cut into
  LSH bands stored as a keyword field (`lsh_bands`). Candidates are looked up in
  Elasticsearch itself, so clustering works across runs, processes and Airflow
  workers, then verified on the estimated Jaccard similarity and containment
  (a truncated copy is contained in the original).

A duplicate gets `duplicate_of` (the most similar indexed article) and that
article's `cluster_id`; an article with no duplicate starts its own cluster
(`cluster_id` = its own id), so the cluster id is the first article indexed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np
from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.models import Article, Fingerprint
from pipeline.store import articles as article_store
from pipeline.store.articles import Similar

NUM_PERM = 120
ROWS_PER_BAND = 3  # 40 bands: pairs with Jaccard 0.4 become candidates 93% of the time
SHINGLE_WORDS = 3
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.7
MIN_SHINGLES = 20  # below this a text is too short to call a near-duplicate
MAX_CANDIDATES = 10

_WORDS = re.compile(r"\w+", re.UNICODE)
ORIGINAL_SOURCE_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\boriginal(?:ly)?\s+(?:source|published\s+(?:by|on|in|at)|appeared\s+(?:on|in|at))"
        r"\s*:?\s*(?P<source>[\w][\w.&' -]{1,60}?)\s*(?:[.,;)\n]|$)",
        r"\((?:re)?published\s+(?:from|by)\s+(?P<source>[\w.-]{3,60}?)\)",
        r"\b(?:first|originally)\s+(?:published|appeared)\s+(?:on|in|by)\s+"
        r"(?P<source>[\w][\w.&' -]{1,60}?)\s*(?:[.,;)\n]|$)",
    )
]


def content_hash(text: str) -> str:
    """sha256 over the lower-cased words of the body: whitespace and punctuation changes do
    not change it, so the same body under two URLs gets the same hash."""
    normalized = " ".join(_WORDS.findall(text.lower()))
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


# MinHash signatures are stored in the index, so the hashing must never change: this is
# datasketch 2's MinHash(num_perm=120, seed=1, scheme="affine32") value for value (a test
# compares them), without datasketch, whose import pulls in scipy (a second per process).
def _permutations(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Odd multipliers and offsets of the affine maps h -> a*h + b (mod 2^32)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_A, _B = _permutations()


def _premix(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, applied once to every input hash."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash(shingles: set[bytes]) -> tuple[int, ...]:
    """The MinHash signature: per permutation, the least permuted hash of any shingle."""
    digests = b"".join([hashlib.sha1(item).digest()[:4] for item in shingles])
    hashes = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    with np.errstate(over="ignore"):  # uint32 wraps around: that is the mod 2^32
        permuted = _premix(hashes) * _A + _B
    return tuple(int(v) for v in permuted.min(axis=0))


def make_fingerprint(text: str) -> Fingerprint:
    words = _WORDS.findall(text.lower())
    # Word 3-shingles (a text of fewer than three words is one shingle of them all).
    grams = {f"{a} {b} {c}".encode() for a, b, c in zip(words, words[1:], words[2:], strict=False)}
    if len(words) < SHINGLE_WORDS:
        grams = {" ".join(words).encode()}
    values = minhash(grams)
    bands = tuple(
        f"{band}-{_band_hash(values[start : start + ROWS_PER_BAND])}"
        for band, start in enumerate(range(0, NUM_PERM, ROWS_PER_BAND))
    )
    return Fingerprint(content_hash(text), values, bands, len(grams) if words else 0)


def _band_hash(values: tuple[int, ...]) -> str:
    data = b"".join(v.to_bytes(4, "little") for v in values)
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def similarity(a: Fingerprint, b: Fingerprint) -> tuple[float, float]:
    """Estimated (Jaccard, containment of the smaller in the larger) of two bodies."""
    jaccard = sum(x == y for x, y in zip(a.minhash, b.minhash, strict=True)) / len(a.minhash)
    smaller = min(a.shingle_count, b.shingle_count)
    if not smaller:
        return jaccard, 0.0
    containment = jaccard * (a.shingle_count + b.shingle_count) / ((1 + jaccard) * smaller)
    return jaccard, min(containment, 1.0)


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    if a.content_hash == b.content_hash:
        return True
    if min(a.shingle_count, b.shingle_count) < MIN_SHINGLES:
        return False
    jaccard, containment = similarity(a, b)
    return jaccard >= MIN_JACCARD or containment >= MIN_CONTAINMENT


def original_source(text: str) -> str | None:
    """The outlet a page credits as the original ("Original Source: Yonhap")."""
    for pattern in ORIGINAL_SOURCE_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group("source").strip(" .'")
    return None


def fingerprint(article: Article) -> Article:
    return dataclasses.replace(
        article,
        fingerprint=make_fingerprint(article.text),
        original_source=article.original_source or original_source(article.text),
    )


def assign_clusters(
    es: Elasticsearch, settings: Settings, articles: list[Article]
) -> list[Article]:
    """Link each article to the most similar earlier article (in the index or earlier in this
    batch). One _msearch looks up the candidates of the whole batch."""
    articles = [a if a.fingerprint else fingerprint(a) for a in articles]
    fingerprints = [(a.id, a.fingerprint) for a in articles if a.fingerprint]
    indexed = article_store.similar(es, settings, fingerprints, MAX_CANDIDATES)
    batch: list[Similar] = []
    by_band: dict[str, list[int]] = {}  # band -> positions in `batch` of the articles with it
    clustered = []
    for article, candidates in zip(articles, indexed, strict=True):
        fp = article.fingerprint
        assert fp is not None
        earlier = sorted({position for band in fp.bands for position in by_band.get(band, ())})
        match = _best_match(fp, candidates + [batch[position] for position in earlier])
        cluster_id = match.cluster_id if match else article.id
        article = dataclasses.replace(
            article, cluster_id=cluster_id, duplicate_of=match.id if match else None
        )
        for band in fp.bands:
            by_band.setdefault(band, []).append(len(batch))
        batch.append(Similar(article.id, cluster_id, fp))
        clustered.append(article)
    return clustered


def _best_match(fp: Fingerprint, pool: list[Similar]) -> Similar | None:
    best, best_score = None, 0.0
    for known in pool:
        if is_near_duplicate(fp, known.fingerprint):
            score = sum(similarity(fp, known.fingerprint))
            if known.fingerprint.content_hash == fp.content_hash:
                score = 3.0
            if score > best_score:
                best, best_score = known, score
    return best
