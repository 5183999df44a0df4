"""Tag stage: a first rule matcher over config/topics.yaml.

A topic matches when every `all_of` group has a mention, at least one `any_of`
term is mentioned (if any are listed), no `none_of` term is, and the mentions
reach `min_mentions`. Terms match case-insensitively on word boundaries, so
"Russia" matches "Russia's" but not "Belorussian". Title mentions count double
in the score. Each tag carries the matches that produced it as evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.config import TopicConfig
from pipeline.models import Evidence, Tag

TITLE_WEIGHT = 2.0
MAX_EVIDENCE = 20


def _pattern(terms: list[str]) -> re.Pattern[str]:
    # Longest first so "kim jong un" wins over "kim" at the same position.
    alternatives = "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class _CompiledTopic:
    id: str
    all_of: list[re.Pattern[str]]
    any_of: re.Pattern[str] | None
    none_of: re.Pattern[str] | None
    min_mentions: int


class Tagger:
    def __init__(self, topics: list[TopicConfig]) -> None:
        self._topics = [
            _CompiledTopic(
                id=topic.id,
                all_of=[_pattern(group) for group in topic.all_of],
                any_of=_pattern(topic.any_of) if topic.any_of else None,
                none_of=_pattern(topic.none_of) if topic.none_of else None,
                min_mentions=topic.min_mentions,
            )
            for topic in topics
        ]

    def tag(self, title: str, text: str) -> list[Tag]:
        fields = {"title": title, "text": text}
        tags = []
        for topic in self._topics:
            tag = self._match(topic, fields)
            if tag is not None:
                tags.append(tag)
        return sorted(tags, key=lambda t: (-t.score, t.topic))

    def _match(self, topic: _CompiledTopic, fields: dict[str, str]) -> Tag | None:
        if topic.none_of and _find(topic.none_of, fields):
            return None
        evidence: list[Evidence] = []
        for pattern in topic.all_of:
            found = _find(pattern, fields)
            if not found:
                return None
            evidence.extend(found)
        if topic.any_of:
            found = _find(topic.any_of, fields)
            if not found:
                return None
            evidence.extend(found)
        unique = sorted(set(evidence), key=lambda e: (e.field != "title", e.start))
        if len(unique) < topic.min_mentions:
            return None
        score = sum(TITLE_WEIGHT if e.field == "title" else 1.0 for e in unique)
        return Tag(topic=topic.id, score=score, evidence=unique[:MAX_EVIDENCE])


def _find(pattern: re.Pattern[str], fields: dict[str, str]) -> list[Evidence]:
    return [
        Evidence(term=m.group(0), field=name, start=m.start(), end=m.end())
        for name, value in fields.items()
        for m in pattern.finditer(value)
    ]
