"""config/alerts.yaml: channels (name -> channel, see pipeline/channels), rules, spike
rules and delivery settings."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from pipeline.channels import ChannelConfig
from pipeline.config.loading import SLUG, Strict, parse_list, read_mapping, reject_duplicate_ids
from pipeline.config.settings import Settings
from pipeline.config.taxonomy import load_topics
from pipeline.errors import ConfigError

logger = logging.getLogger(__name__)


class ThrottleConfig(Strict):
    max: int = Field(ge=1)
    per: Literal["hour", "day"]


class AlertRuleConfig(Strict):
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


class SpikeConfig(Strict):
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


def load_alerts(settings: Settings) -> AlertsConfig:
    """alerts.yaml: `channels` (name -> channel), `rules`, `spikes`, optional `delivery`.
    The file is optional: without it there are no alerts (said once per process)."""
    path = settings.config_dir / "alerts.yaml"
    if not path.exists():
        _say_alerts_are_off(path)
        return AlertsConfig({}, [])
    data = read_mapping(path)
    unknown = set(data) - {"channels", "rules", "spikes", "delivery"}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    channels = {
        str(name): _channel(path, str(name), raw)
        for name, raw in (data.get("channels") or {}).items()
    }
    rules = parse_list(path, data, "rules", AlertRuleConfig)
    spikes = parse_list(path, data, "spikes", SpikeConfig)
    reject_duplicate_ids(path, "rules", rules)
    reject_duplicate_ids(path, "spikes", spikes)
    _check_routes(path, channels, rules, spikes)
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


@functools.cache
def _say_alerts_are_off(path: Path) -> None:
    logger.warning("no %s: alerts are off", path)


_CHANNEL: TypeAdapter[ChannelConfig] = TypeAdapter(ChannelConfig)
_CHANNEL_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


def _channel(path: Path, name: str, raw: Any) -> ChannelConfig:
    try:
        return _CHANNEL.validate_python(raw or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        problem = error["msg"]
        if error["type"] in _CHANNEL_TAG_ERRORS:
            loc, problem = ["type"], f"Input should be one of {_channel_types()}"
        elif loc and isinstance(raw, dict) and loc[0] == raw.get("type"):
            loc = loc[1:]  # the union's tag, not a key of the file
        key = ".".join(loc)
        raise ConfigError(
            str(path), f"channels.{name}" + (f".{key}" if key else ""), problem
        ) from None


def _channel_types() -> str:
    schema = _CHANNEL.json_schema()
    return ", ".join(repr(tag) for tag in schema["discriminator"]["mapping"])


def _check_routes(
    path: Path,
    channels: dict[str, ChannelConfig],
    rules: list[AlertRuleConfig],
    spikes: list[SpikeConfig],
) -> None:
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
