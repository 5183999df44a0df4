"""Settings: config/settings.yaml (if present), then NEWSMON_* environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from pipeline.config.loading import SLUG, Strict, first_error, read_mapping
from pipeline.errors import ConfigError

# The repository's config/ folder: the default config dir and home of the index mappings.
REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
MAPPINGS_DIR = REPO_CONFIG_DIR / "elasticsearch"
ENV_PREFIX = "NEWSMON_"


class Settings(Strict):
    # A cluster of newsmon's own: its nodes' URLs, comma-separated (the client spreads
    # requests over them and carries on while one is down). Unset: the local cluster.
    es_url: str | None = Field(
        default=None, pattern=r"^https?://[^,\s]+(\s*,\s*https?://[^,\s]+)*$"
    )
    # A secured cluster: an API key (the base64 `encoded` value, or `id:api_key`), or a
    # username and password; TLS trust by a CA bundle (PEM) or the SHA-256 fingerprint
    # of the cluster's certificate (when neither is set, the system's CAs).
    es_api_key: str | None = None
    es_username: str | None = None
    es_password: str | None = None
    es_ca_certs: Path | None = None
    es_ssl_fingerprint: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}:?){32}$")
    # DAG tasks: an Airflow connection with the cluster (host/port/schema or extra.url)
    # and its credentials (login/password, or extra.api_key; extra.ca_certs or
    # extra.ssl_fingerprint), taking the place of the es_* settings above.
    es_connection: str | None = None
    es_port: int = Field(default=9200, ge=1, le=65535)
    es_version: str = "9.5.4"
    es_heap: str = Field(default="1g", pattern=r"^\d+[mg]$")
    # The local cluster's nodes (`newsmon es start`): HTTP on es_port, es_port + 1, ...
    es_nodes: int = Field(default=1, ge=1, le=9)
    index_prefix: str = Field(default="news-", pattern=SLUG)
    config_dir: Path = REPO_CONFIG_DIR
    cache_dir: Path = Field(default_factory=lambda: default_cache_dir())
    allow_private_networks: bool = False
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon)"
    http_timeout: float = Field(default=20.0, gt=0)
    max_feed_bytes: int = Field(default=10_000_000, gt=0)
    max_page_bytes: int = Field(default=5_000_000, gt=0)
    max_entries_per_feed: int = Field(default=100, ge=1)
    ingest_interval_minutes: int = Field(default=15, ge=0)  # 0: news_ingest only when triggered
    # How a run is spread over the machine: news_ingest's shard tasks (default one per
    # 4 cores); extraction worker processes per ingest (default: one per core for `newsmon
    # run`, the cores shared out among a run's shard tasks; 0 = in the ingest process
    # itself); threads fetching feeds and pages.
    ingest_shards: int | None = Field(default=None, ge=1)
    ingest_processes: int | None = Field(default=None, ge=0)
    ingest_threads: int = Field(default=32, ge=1)
    # A feed's own poll interval follows its publishing rate between these (see
    # pipeline/ingest/schedule.py); the cap is how long a new item may wait at most.
    feed_min_interval_minutes: float = Field(default=1, gt=0)
    feed_max_interval_minutes: float = Field(default=60, gt=0)
    # Politeness per host, across every newsmon process on this machine; with a Redis
    # (redis://host:6379/0), across every machine using it.
    redis_url: str | None = Field(default=None, pattern=r"^rediss?://")
    host_min_delay_seconds: float = Field(default=1.0, ge=0)
    host_max_connections: int = Field(default=2, ge=1)
    respect_robots: bool = True  # robots.txt for article pages
    # WebSub: the public base URL of `newsmon serve`; unset = no push subscriptions.
    websub_callback_url: str | None = None
    websub_lease_seconds: int = Field(default=7 * 86400, ge=60)
    api_token: str | None = None  # required by `newsmon serve` beyond loopback
    # Snapshots (`newsmon backup`, the news_backup DAG): a folder of the cluster's
    # filesystem repository, relative to its `path.repo` (the local cluster's is in the
    # cache folder) or absolute; how many scheduled snapshots to keep.
    backup_location: str = "newsmon"
    backup_keep: int = Field(default=7, ge=1)

    @property
    def elasticsearch_urls(self) -> list[str]:
        if self.es_url:
            return [url.strip() for url in self.es_url.split(",")]
        # The local cluster (`newsmon es start`) runs with TLS on.
        return [f"https://127.0.0.1:{self.es_port + node}" for node in range(self.es_nodes)]

    @property
    def elasticsearch_url(self) -> str:
        """The cluster's address for messages: its URLs, comma-separated."""
        return ", ".join(self.elasticsearch_urls)

    @property
    def uses_local_elasticsearch(self) -> bool:
        return self.es_url is None

    def index_name(self, kind: str) -> str:
        """`articles` -> `news-articles` with the default prefix (kinds: store.Index)."""
        return f"{self.index_prefix}{kind}"


def default_cache_dir() -> Path:
    # As root the cache must be readable by the unprivileged Elasticsearch user,
    # which cannot enter /root.
    if os.geteuid() == 0:
        return Path("/var/cache/newsmon")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsmon"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """settings.yaml in the config dir (if present), then NEWSMON_* environment overrides."""
    env = os.environ if env is None else env
    config_dir = Path(env.get("NEWSMON_CONFIG_DIR") or REPO_CONFIG_DIR)
    if not config_dir.is_dir():
        raise ConfigError("NEWSMON_CONFIG_DIR", "", f"{config_dir} is not a directory")
    path = config_dir / "settings.yaml"
    values: dict[str, Any] = {}
    if path.exists():
        values = read_mapping(path)
    values["config_dir"] = config_dir
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw not in (None, ""):
            values[name] = raw
    try:
        settings = Settings.model_validate(values)
    except ValidationError as exc:
        key, problem = first_error(exc)
        source = (
            f"environment {ENV_PREFIX}{key.upper()}"
            if env.get(ENV_PREFIX + key.upper())
            else str(path)
        )
        raise ConfigError(source, key, problem) from None
    _check_credentials(settings, path, env)
    return settings


def _check_credentials(settings: Settings, path: Path, env: Mapping[str, str]) -> None:
    """Credentials come whole: a username with its password, a key or a login."""

    def source(key: str) -> str:
        return (
            f"environment {ENV_PREFIX}{key.upper()}"
            if env.get(ENV_PREFIX + key.upper())
            else str(path)
        )

    if settings.es_api_key and (settings.es_username or settings.es_password):
        raise ConfigError(
            source("es_api_key"),
            "es_api_key",
            "use an API key or a username and password, not both",
        )
    if bool(settings.es_username) != bool(settings.es_password):
        missing = "es_password" if settings.es_username else "es_username"
        raise ConfigError(
            source(missing), missing, "a username and a password go together: set both"
        )
    if settings.es_ca_certs and not settings.es_ca_certs.is_file():
        raise ConfigError(
            source("es_ca_certs"), "es_ca_certs", f"{settings.es_ca_certs} is not a file"
        )
