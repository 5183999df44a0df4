"""Dedup stage: exact duplicates by canonical-URL id (pipeline.urls) and by body hash."""

from __future__ import annotations

import dataclasses
import hashlib
import re

from pipeline.models import Article

_WORDS = re.compile(r"\w+", re.UNICODE)


def content_hash(text: str) -> str:
    """sha256 over the lower-cased words of the body: whitespace and punctuation changes do
    not change it, so the same body under two URLs gets the same hash."""
    normalized = " ".join(_WORDS.findall(text.lower()))
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def fingerprint(article: Article) -> Article:
    return dataclasses.replace(article, content_hash=content_hash(article.text))
