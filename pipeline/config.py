"""Settings and config files, validated on load.

Every problem becomes a ConfigError naming the file (or environment variable),
the key and what is wrong; the CLI turns it into one line and exit code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ConfigError

# The repository's config/ folder: the default config dir and home of the index mappings.
REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
MAPPINGS_DIR = REPO_CONFIG_DIR / "elasticsearch"

SLUG = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    id: str = Field(pattern=SLUG)
    url: str
    name: str = Field(min_length=1)
    language: str | None = None
    interval: int | None = Field(default=None, ge=1, description="minutes between polls")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class EntityConfig(_Strict):
    """A canonical entity and the names it goes by. An alias ending in `*` matches any
    ending (Russian and Korean inflections); an all-capitals alias (DPRK, US) matches
    only in capitals."""

    id: str = Field(pattern=SLUG)
    type: Literal["person", "organisation", "place"]
    name: str = Field(min_length=1)
    aliases: list[str] = Field(min_length=1)


class GroupConfig(_Strict):
    """A named set of entities and phrases that topics refer to."""

    entities: list[str] = []
    phrases: list[str] = []


class TopicConfig(_Strict):
    """A topic rule over groups and entities (see config/topics.yaml for the semantics)."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    description: str = ""
    parent: str | None = None
    all_of: list[str] = []
    any_of: list[str] = []
    none_of: list[str] = []
    near: list[str] = []
    window: Literal["sentence", "paragraph"] | int = "sentence"
    min_mentions: int = Field(default=1, ge=1)
    min_score: float = Field(default=1.0, ge=0)


@dataclass(frozen=True)
class Taxonomy:
    entities: dict[str, EntityConfig]
    groups: dict[str, GroupConfig]
    topics: list[TopicConfig]


class ChannelConfig(_Strict):
    """Where alerts go. Secrets (Slack URLs, HMAC keys, SMTP passwords) are named by the
    environment variable that holds them, never written in the file."""

    type: Literal["webhook", "slack", "email", "log"]
    connection: str | None = None  # an Airflow connection id holding the secrets
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    timeout: float = Field(default=10.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username_env: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: list[str] = []
    path: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> ChannelConfig:
        if self.type in ("webhook", "slack") and not (self.url or self.url_env or self.connection):
            raise ValueError(f"a {self.type} channel needs url, url_env or connection")
        if self.type == "email" and not (
            (self.smtp_host or self.connection) and self.sender and self.to
        ):
            raise ValueError("an email channel needs smtp_host (or connection), sender and to")
        if self.type == "log" and not self.path:
            raise ValueError("a log channel needs path")
        return self


class ThrottleConfig(_Strict):
    max: int = Field(ge=1)
    per: Literal["hour", "day"]


class AlertRuleConfig(_Strict):
    id: str = Field(pattern=SLUG)
    query: str = Field(min_length=1)
    topics: list[str] = []
    sources: list[str] = []  # site names or feed ids
    languages: list[str] = []
    entities: list[str] = []
    channels: list[str] = Field(min_length=1)
    throttle: ThrottleConfig | None = None  # at most `max` messages per hour/day
    mode: Literal["instant", "hourly", "daily"] = "instant"  # or one digest per period
    enabled: bool = True


_DURATION_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_duration(text: str) -> timedelta:
    """'30m', '1h', '7d'."""
    match = re.fullmatch(r"(\d+)\s*([mhd])", text.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h or 7d")
    return int(match[1]) * _DURATION_UNITS[match[2]]


class SpikeConfig(_Strict):
    """Alert when a topic's or a query's stories in the last `window` are `threshold` times
    their average per window over the `baseline` before it (and at least `min_count`)."""

    id: str = Field(pattern=SLUG)
    topic: str | None = None
    query: str | None = None
    window: str = "1h"
    baseline: str = "7d"
    threshold: float = Field(default=3.0, gt=1)
    min_count: int = Field(default=5, ge=1)
    channels: list[str] = Field(min_length=1)
    enabled: bool = True

    @field_validator("window", "baseline")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _complete(self) -> SpikeConfig:
        if not (self.topic or self.query):
            raise ValueError("a spike rule needs a topic or a query")
        if parse_duration(self.baseline) < 2 * parse_duration(self.window):
            raise ValueError("baseline must be at least twice the window")
        return self


@dataclass(frozen=True)
class AlertsConfig:
    channels: dict[str, ChannelConfig]
    rules: list[AlertRuleConfig]
    retry_base_seconds: float = 30.0
    expire_hours: float = 48.0
    spikes: list[SpikeConfig] = field(default_factory=list)


class Settings(_Strict):
    es_url: str | None = None
    es_port: int = Field(default=9200, ge=1, le=65535)
    es_version: str = "9.5.4"
    es_heap: str = Field(default="1g", pattern=r"^\d+[mg]$")
    index_prefix: str = Field(default="news-", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    config_dir: Path = REPO_CONFIG_DIR
    cache_dir: Path = Field(default_factory=lambda: default_cache_dir())
    allow_private_networks: bool = False
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon)"
    http_timeout: float = Field(default=20.0, gt=0)
    max_feed_bytes: int = Field(default=10_000_000, gt=0)
    max_page_bytes: int = Field(default=5_000_000, gt=0)
    max_entries_per_feed: int = Field(default=100, ge=1)
    ingest_interval_minutes: int = Field(default=15, ge=1)
    # A feed's own poll interval adapts between these (see pipeline/feed_state.py).
    feed_min_interval_minutes: float = Field(default=5, gt=0)
    feed_max_interval_minutes: float = Field(default=360, gt=0)
    # Politeness per host, across every newsmon process on this machine.
    host_min_delay_seconds: float = Field(default=1.0, ge=0)
    host_max_connections: int = Field(default=2, ge=1)
    respect_robots: bool = True  # robots.txt for article pages
    # WebSub: the public base URL of `newsmon serve`; unset = no push subscriptions.
    websub_callback_url: str | None = None
    websub_lease_seconds: int = Field(default=7 * 86400, ge=60)
    api_token: str | None = None  # required by `newsmon serve` beyond loopback

    @property
    def elasticsearch_url(self) -> str:
        return self.es_url or f"http://127.0.0.1:{self.es_port}"

    @property
    def uses_local_elasticsearch(self) -> bool:
        return self.es_url is None

    def index_name(self, kind: str) -> str:
        """`articles` -> `news-articles` with the default prefix."""
        return f"{self.index_prefix}{kind}"


def default_cache_dir() -> Path:
    # As root the cache must be readable by the unprivileged Elasticsearch user,
    # which cannot enter /root.
    if os.geteuid() == 0:
        return Path("/var/cache/newsmon")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsmon"


ENV_PREFIX = "NEWSMON_"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """settings.yaml in the config dir (if present), then NEWSMON_* environment overrides."""
    env = os.environ if env is None else env
    config_dir = Path(env.get("NEWSMON_CONFIG_DIR") or REPO_CONFIG_DIR)
    if not config_dir.is_dir():
        raise ConfigError("NEWSMON_CONFIG_DIR", "", f"{config_dir} is not a directory")
    path = config_dir / "settings.yaml"
    values: dict[str, Any] = {}
    if path.exists():
        values = _read_mapping(path)
    values["config_dir"] = config_dir
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = raw
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        key, problem = _first_error(exc)
        source = (
            f"environment {ENV_PREFIX}{key.upper()}"
            if env.get(ENV_PREFIX + key.upper())
            else str(path)
        )
        raise ConfigError(source, key, problem) from None


def load_feeds(settings: Settings) -> list[FeedConfig]:
    path = settings.config_dir / "feeds.yaml"
    feeds = _load_list(path, "feeds", FeedConfig)
    _reject_duplicate_ids(path, "feeds", feeds)
    return feeds


def load_topics(settings: Settings) -> Taxonomy:
    return load_taxonomy(settings.config_dir / "topics.yaml")


def load_taxonomy(path: Path) -> Taxonomy:
    """topics.yaml: `include` (files with more entities), `entities`, `groups`, `topics`.
    Every reference is checked: errors name the file, the topic and the key."""
    data = _read_mapping(path)
    unknown = set(data) - {"include", "entities", "groups", "topics"}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    entities: list[EntityConfig] = []
    for name in data.get("include") or []:
        included = path.parent / str(name)
        entities += _load_list(included, "entities", EntityConfig)
    entities += _parse_list(path, data, "entities", EntityConfig)
    _reject_duplicate_ids(path, "entities", entities)
    by_id = {entity.id: entity for entity in entities}
    groups = _load_groups(path, data.get("groups") or {}, by_id)
    topics = _parse_list(path, data, "topics", TopicConfig)
    _reject_duplicate_ids(path, "topics", topics)
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
            key, problem = _first_error(exc)
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
        for key in ("all_of", "any_of", "none_of", "near"):
            for position, term in enumerate(getattr(topic, key)):
                if term not in terms:
                    raise ConfigError(
                        str(path), f"{where}.{key}[{position}]", f"unknown group or entity {term!r}"
                    )
        if topic.parent is not None and (topic.parent not in ids or topic.parent == topic.id):
            raise ConfigError(str(path), f"{where}.parent", f"unknown topic {topic.parent!r}")
        if not (topic.all_of or topic.any_of) and topic.id not in parents:
            raise ConfigError(
                str(path), where, "needs all_of or any_of terms (or to be another topic's parent)"
            )
        if len(topic.near) == 1:
            raise ConfigError(str(path), f"{where}.near", "needs at least two terms to co-occur")


def load_alerts(settings: Settings) -> AlertsConfig:
    """alerts.yaml: `channels` (name -> channel), `rules`, optional `delivery`."""
    path = settings.config_dir / "alerts.yaml"
    data = _read_mapping(path)
    unknown = set(data) - {"channels", "rules", "spikes", "delivery"}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    channels: dict[str, ChannelConfig] = {}
    for name, raw in (data.get("channels") or {}).items():
        try:
            channels[str(name)] = ChannelConfig.model_validate(raw or {})
        except ValidationError as exc:
            key, problem = _first_error(exc)
            raise ConfigError(
                str(path), f"channels.{name}" + (f".{key}" if key else ""), problem
            ) from None
    rules = _parse_list(path, data, "rules", AlertRuleConfig)
    spikes = _parse_list(path, data, "spikes", SpikeConfig)
    _reject_duplicate_ids(path, "rules", rules)
    _reject_duplicate_ids(path, "spikes", spikes)
    routed: list[tuple[str, AlertRuleConfig | SpikeConfig]] = [
        *((f"rules[{i}]", rule) for i, rule in enumerate(rules)),
        *((f"spikes[{i}]", spike) for i, spike in enumerate(spikes)),
    ]
    for where, item in routed:
        for position, channel in enumerate(item.channels):
            if channel not in channels:
                raise ConfigError(
                    str(path),
                    f"{where} ({item.id}).channels[{position}]",
                    f"unknown channel {channel!r}",
                )
    _check_alert_topics(path, settings, rules, spikes)
    clash = {rule.id for rule in rules} & {spike.id for spike in spikes}
    if clash:
        raise ConfigError(str(path), "spikes", f"id {sorted(clash)[0]!r} is also a rule's id")
    delivery = data.get("delivery") or {}
    try:
        return AlertsConfig(
            channels,
            rules,
            retry_base_seconds=float(delivery.get("retry_base_seconds", 30)),
            expire_hours=float(delivery.get("expire_hours", 48)),
            spikes=spikes,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(path), "delivery", f"numbers expected: {exc}") from None


def _check_alert_topics(
    path: Path, settings: Settings, rules: list[AlertRuleConfig], spikes: list[SpikeConfig]
) -> None:
    """A rule filtering on a topic that does not exist would silently never fire."""
    wanted = [
        (f"rules[{i}] ({rule.id}).topics[{j}]", topic)
        for i, rule in enumerate(rules)
        for j, topic in enumerate(rule.topics)
    ] + [(f"spikes[{i}] ({s.id}).topic", s.topic) for i, s in enumerate(spikes) if s.topic]
    if not wanted:
        return
    known = {topic.id for topic in load_topics(settings).topics}
    for where, topic in wanted:
        if topic not in known:
            raise ConfigError(str(path), where, f"unknown topic {topic!r}")


Model = TypeVar("Model", bound=BaseModel)


def _load_list(path: Path, key: str, model: type[Model]) -> list[Model]:
    data = _read_mapping(path)
    unknown = set(data) - {key}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    return _parse_list(path, data, key, model)


def _parse_list(path: Path, data: dict[str, Any], key: str, model: type[Model]) -> list[Model]:
    items = data.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ConfigError(str(path), key, f"must be a list, got {type(items).__name__}")
    loaded = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(str(path), where, "must be a mapping")
        try:
            loaded.append(model.model_validate(item))
        except ValidationError as exc:
            field, problem = _first_error(exc)
            label = f"{where} ({item.get('id')})" if item.get("id") else where
            raise ConfigError(str(path), f"{label}.{field}" if field else label, problem) from None
    return loaded


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(str(path), where, f"not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "the file must hold a mapping at the top level")
    return data


def _first_error(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    return key, error["msg"]


def _reject_duplicate_ids(path: Path, key: str, items: list[Any]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise ConfigError(
                str(path),
                f"{key}[{index}].id",
                f"duplicate id {item.id!r} (also {key}[{seen[item.id]}])",
            )
        seen[item.id] = index
