"""Config files and settings, validated on load.

Every problem becomes a ConfigError naming the file (or environment variable), the
key and what is wrong; the CLI turns it into one line and exit code 2.

- settings.py   settings.yaml + NEWSMON_* environment overrides
- feeds.py      feeds.yaml
- taxonomy.py   topics.yaml and the entity files it includes
- alerts.py     alerts.yaml (channel types come from pipeline/channels)
- yaml_edit.py  edits that keep the user's comments and layout (CLI `add` commands)
"""

from pipeline.config.alerts import (
    AlertRuleConfig,
    AlertsConfig,
    SpikeConfig,
    ThrottleConfig,
    load_alerts,
    parse_duration,
)
from pipeline.config.feeds import FeedConfig, load_feeds, select_feeds
from pipeline.config.settings import MAPPINGS_DIR, REPO_CONFIG_DIR, Settings, load_settings
from pipeline.config.taxonomy import (
    EntityConfig,
    GroupConfig,
    RuleConfig,
    Taxonomy,
    TopicConfig,
    load_taxonomy,
    load_topics,
)

__all__ = [
    "MAPPINGS_DIR",
    "REPO_CONFIG_DIR",
    "AlertRuleConfig",
    "AlertsConfig",
    "EntityConfig",
    "FeedConfig",
    "GroupConfig",
    "RuleConfig",
    "Settings",
    "SpikeConfig",
    "Taxonomy",
    "ThrottleConfig",
    "TopicConfig",
    "load_alerts",
    "load_feeds",
    "load_settings",
    "load_taxonomy",
    "load_topics",
    "parse_duration",
    "select_feeds",
]
