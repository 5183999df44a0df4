"""Tagging accuracy on a labelled set: precision, recall and F1 per topic.

A labelled set is JSON lines: {"title": ..., "text": ..., "topics": [...]}
(an optional "id" names the article in the error list, an optional "language" its
language; without it the script decides: Hangul is Korean, Cyrillic Russian, else
English). Scores are reported per topic, micro-averaged, and per language.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.ingest.tag import Tagger


@dataclass
class TopicScore:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


def load_labelled(path: Path) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(str(path), f"line {number}", f"not JSON: {exc.msg}") from None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("topics"), list)
        ):
            raise ConfigError(str(path), f"line {number}", 'needs "text" and a "topics" list')
        item.setdefault("id", f"line {number}")
        items.append(item)
    return items


def evaluate(tagger: Tagger, items: Iterable[dict[str, Any]]) -> dict[str, TopicScore]:
    """Scores for every topic of the taxonomy (labels naming other topics are ignored)."""
    scores = {topic.id: TopicScore() for topic in tagger.taxonomy.topics}
    for item in items:
        predicted = {tag.topic for tag in tagger.tag(item.get("title") or "", item["text"])}
        expected = set(item["topics"]) & scores.keys()
        for topic, score in scores.items():
            if topic in predicted and topic in expected:
                score.tp += 1
            elif topic in predicted:
                score.fp += 1
                score.false_positives.append(str(item["id"]))
            elif topic in expected:
                score.fn += 1
                score.false_negatives.append(str(item["id"]))
    return scores


def language_of(item: dict[str, Any]) -> str:
    if isinstance(item.get("language"), str):
        return str(item["language"])
    text = (item.get("title") or "") + item["text"]
    if any("\uac00" <= c <= "\ud7a3" for c in text):
        return "ko"
    if any("\u0400" <= c <= "\u04ff" for c in text):
        return "ru"
    return "en"


def by_language(tagger: Tagger, items: list[dict[str, Any]]) -> dict[str, dict[str, TopicScore]]:
    """`evaluate` on each language's articles separately."""
    languages = sorted({language_of(item) for item in items})
    return {
        language: evaluate(tagger, [i for i in items if language_of(i) == language])
        for language in languages
    }


def micro(scores: dict[str, TopicScore]) -> TopicScore:
    """All topics' decisions pooled."""
    total = TopicScore()
    for score in scores.values():
        total.tp, total.fp, total.fn = total.tp + score.tp, total.fp + score.fp, total.fn + score.fn
    return total


def _numbers(score: TopicScore) -> dict[str, Any]:
    return {
        "precision": round(score.precision, 3),
        "recall": round(score.recall, 3),
        "f1": round(score.f1, 3),
        "support": score.support,
    }


def report(
    scores: dict[str, TopicScore],
    languages: dict[str, dict[str, TopicScore]] | None = None,
    ids: bool = True,
) -> dict[str, Any]:
    """Per topic (with the ids of its errors unless `ids` is False), micro, per language."""
    topics = {}
    for topic, score in scores.items():
        topics[topic] = _numbers(score)
        if ids:
            topics[topic]["false_positives"] = score.false_positives
            topics[topic]["false_negatives"] = score.false_negatives
    result: dict[str, Any] = {"topics": topics, "micro": _numbers(micro(scores))}
    if languages:
        result["languages"] = {
            language: {
                "micro": _numbers(micro(per_topic)),
                "topics": {topic: _numbers(score) for topic, score in per_topic.items()},
            }
            for language, per_topic in languages.items()
        }
    return result
