"""Extraction quality metric of the article-extraction benchmark (shingle precision/recall).

Tokens are `\\w+` matches; each text becomes a multiset of 4-token shingles
(`pipeline.ingest.extract.shingles`, which extraction itself compares texts with). Per
page, true positives are the shingles both texts share (counting repeats),
false positives those only in the extraction, false negatives those only in the
truth. Precision and recall are averaged over pages (a page with no extracted
shingles has no precision, one with no true shingles no recall; a page with no
false positives and no false negatives scores 1 on both). F1 = 2PR / (P + R).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.ingest.extract import Trimming, shingles


@dataclass(frozen=True)
class PageScore:
    precision: float | None
    recall: float | None


def score_page(extracted: str, truth: str) -> PageScore:
    predicted, expected = shingles(extracted), shingles(truth)
    tp = sum((predicted & expected).values())
    fp = sum(predicted.values()) - tp
    fn = sum(expected.values()) - tp
    if fp == 0 and fn == 0:
        return PageScore(1.0, 1.0)
    return PageScore(
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
    )


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    pages: int


def aggregate(scores: Iterable[PageScore]) -> Quality:
    scores = list(scores)
    precisions = [s.precision for s in scores if s.precision is not None]
    recalls = [s.recall for s in scores if s.recall is not None]
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Quality(precision=p, recall=r, f1=f1, pages=len(scores))


# The edge-trimming choices cross-validation picks among (the shipped one included).
TRIMMING_GRID = [
    Trimming(agreement, line, lead, words)
    for agreement in (0.6, 0.7, 0.8, 0.9)
    for line in (0.3, 0.5, 0.7)
    for lead in (0.05, 0.1, 0.2)
    for words in (10, 20, 40)
]


@dataclass(frozen=True)
class CrossValidated:
    quality: Quality  # every page scored with the trimming chosen on the other folds
    chosen: list[Trimming]  # per fold


def cross_validate(scores: dict[Trimming, list[PageScore]], folds: int) -> CrossValidated:
    """k-fold cross-validation of the trimming choice: page i is in fold i % folds; for
    each fold the trimming with the best F1 on the other folds (the first in grid order
    on a tie) scores the fold's pages, so no page scores a choice fitted to it."""
    pages = len(next(iter(scores.values())))
    held_out: list[PageScore] = []
    chosen = []
    for fold in range(folds):
        train = [i for i in range(pages) if i % folds != fold]
        best = max(scores, key=lambda trimming: aggregate(scores[trimming][i] for i in train).f1)
        chosen.append(best)
        held_out += [scores[best][i] for i in range(pages) if i % folds == fold]
    return CrossValidated(aggregate(held_out), chosen)
