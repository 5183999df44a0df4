"""What a channel sends: one story's alert, or a rule's hourly/daily digest of stories."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class AlertMessage:
    event_id: str
    rule_id: str
    title: str
    url: str
    site: str | None
    published_at: str | None
    matched_terms: list[str]

    @property
    def subject(self) -> str:
        return f"[newsmon] {self.rule_id}: {self.title}"

    @property
    def items(self) -> list[AlertMessage]:
        return [self]

    def summary(self) -> str:
        terms = ", ".join(self.matched_terms) or "-"
        return f"{self.title}\n{self.site or '?'} {self.when}\nmatched: {terms}\n{self.url}"

    @property
    def when(self) -> str:
        return (self.published_at or "")[:16].replace("T", " ")

    def payload(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Digest:
    """An hourly or daily digest: one message for all of a rule's stories in the period."""

    event_id: str  # derived from the events it carries, for the receiver's dedup
    rule_id: str
    period: str
    items: list[AlertMessage]

    @property
    def subject(self) -> str:
        stories = "story" if len(self.items) == 1 else "stories"
        return f"[newsmon] {self.rule_id}: {self.period} digest, {len(self.items)} {stories}"

    def summary(self) -> str:
        return "\n\n".join(item.summary() for item in self.items)

    def payload(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "rule_id": self.rule_id,
            "digest": self.period,
            "items": [asdict(item) for item in self.items],
        }


Message = AlertMessage | Digest
