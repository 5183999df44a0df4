"""config/topics.yaml (and the entity files it includes): entities, groups and topic rules.
Every reference is checked on load: errors name the file, the topic and the key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from pipeline.config.loading import (
    SLUG,
    Strict,
    first_error,
    load_list,
    parse_list,
    read_mapping,
    reject_duplicate_ids,
)
from pipeline.config.settings import Settings
from pipeline.errors import ConfigError


class EntityConfig(Strict):
    """A canonical entity and the names it goes by. An alias ending in `*` matches any
    ending (Russian and Korean inflections); an all-capitals alias (DPRK, US) matches
    only in capitals."""

    id: str = Field(pattern=SLUG)
    type: Literal["person", "organisation", "place"]
    name: str = Field(min_length=1)
    aliases: list[str] = Field(min_length=1)


class GroupConfig(Strict):
    """A named set of entities and phrases that topics refer to."""

    entities: list[str] = []
    phrases: list[str] = []


class RuleConfig(Strict):
    """When a topic applies (see config/topics.yaml for the semantics)."""

    all_of: list[str] = []
    any_of: list[str] = []
    none_of: list[str] = []
    # group/entity -> weight: its mentions' weights, times this, come off the score
    against: dict[str, float] = {}
    near: list[str] = []
    window: Literal["sentence", "paragraph"] | int = "sentence"
    min_mentions: int = Field(default=1, ge=1)
    min_score: float = Field(default=1.0, ge=0)


class TopicConfig(RuleConfig):
    """A topic: its own rule, and `also` alternative rules (it applies when any does)."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    description: str = ""
    parent: str | None = None
    also: list[RuleConfig] = []

    def rules(self) -> list[RuleConfig]:
        """The topic's rules: its own (when it has terms) and the alternatives."""
        own = [self] if self.all_of or self.any_of else []
        return [*own, *self.also]


@dataclass(frozen=True)
class Taxonomy:
    entities: dict[str, EntityConfig]
    groups: dict[str, GroupConfig]
    topics: list[TopicConfig]


def load_topics(settings: Settings) -> Taxonomy:
    return load_taxonomy(settings.config_dir / "topics.yaml")


def load_taxonomy(path: Path) -> Taxonomy:
    """topics.yaml: `include` (files with more entities), `entities`, `groups`, `topics`."""
    data = read_mapping(path)
    unknown = set(data) - {"include", "entities", "groups", "topics"}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    entities: list[EntityConfig] = []
    for name in data.get("include") or []:
        included = path.parent / str(name)
        entities += load_list(included, "entities", EntityConfig)
    entities += parse_list(path, data, "entities", EntityConfig)
    reject_duplicate_ids(path, "entities", entities)
    by_id = {entity.id: entity for entity in entities}
    groups = _load_groups(path, data.get("groups") or {}, by_id)
    topics = parse_list(path, data, "topics", TopicConfig)
    reject_duplicate_ids(path, "topics", topics)
    _check_topic_references(path, topics, set(by_id) | set(groups))
    return Taxonomy(entities=by_id, groups=groups, topics=topics)


def _load_groups(path: Path, raw: Any, entities: dict[str, EntityConfig]) -> dict[str, GroupConfig]:
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "groups", "must be a mapping of name -> {entities, phrases}")
    groups = {}
    for name, value in raw.items():
        try:
            group = GroupConfig.model_validate(value or {})
        except ValidationError as exc:
            key, problem = first_error(exc)
            raise ConfigError(str(path), f"groups.{name}.{key}", problem) from None
        for index, entity in enumerate(group.entities):
            if entity not in entities:
                raise ConfigError(
                    str(path), f"groups.{name}.entities[{index}]", f"unknown entity {entity!r}"
                )
        groups[str(name)] = group
    return groups


def _check_topic_references(path: Path, topics: list[TopicConfig], terms: set[str]) -> None:
    ids = {topic.id for topic in topics}
    parents = {topic.parent for topic in topics if topic.parent}
    for index, topic in enumerate(topics):
        where = f"topics[{index}] ({topic.id})"
        _check_rule(path, where, topic, terms)
        for position, rule in enumerate(topic.also):
            _check_rule(path, f"{where}.also[{position}]", rule, terms)
            if not (rule.all_of or rule.any_of):
                where_also = f"{where}.also[{position}]"
                raise ConfigError(str(path), where_also, "needs all_of or any_of terms")
        if topic.parent is not None and (topic.parent not in ids or topic.parent == topic.id):
            raise ConfigError(str(path), f"{where}.parent", f"unknown topic {topic.parent!r}")
        if not topic.rules() and topic.id not in parents:
            raise ConfigError(
                str(path), where, "needs all_of or any_of terms (or to be another topic's parent)"
            )


def _check_rule(path: Path, where: str, rule: RuleConfig, terms: set[str]) -> None:
    for key in ("all_of", "any_of", "none_of", "against", "near"):
        for position, term in enumerate(getattr(rule, key)):
            if term not in terms:
                raise ConfigError(
                    str(path), f"{where}.{key}[{position}]", f"unknown group or entity {term!r}"
                )
    if len(rule.near) == 1:
        raise ConfigError(str(path), f"{where}.near", "needs at least two terms to co-occur")
