"""What every channel shares: its config base class, secrets, and one HTTP client."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pipeline.channels.connections import Credentials, airflow_connection
from pipeline.channels.messages import Message
from pipeline.errors import DeliveryError


class Channel(BaseModel):
    """A channel's settings from alerts.yaml (subclasses add theirs and a `type` literal).
    Secrets are named by the environment variable that holds them, or come from the
    Airflow connection `connection`; they are never written in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connection: str | None = None  # an Airflow connection id holding the secrets
    timeout: float = Field(default=10.0, gt=0)

    def send(self, message: Message, env: Mapping[str, str]) -> None:
        """Deliver `message` or raise (DeliveryError, or an I/O error the caller wraps)."""
        raise NotImplementedError

    def credentials(self) -> Credentials:
        return airflow_connection(self.connection) if self.connection else Credentials()


def secret(env: Mapping[str, str], name: str | None, what: str) -> str | None:
    """The value of the environment variable `name` (None when no variable is named)."""
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise DeliveryError(f"{what}: environment variable {name} is not set")
    return value


@functools.cache
def _http() -> httpx.Client:
    # One client for all posts: creating one per message (as httpx.post does) builds a new
    # TLS context each time, which cost more than the delivery itself. Made on first use,
    # not when config (which imports the channel types) is loaded.
    return httpx.Client(follow_redirects=False)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    response = _http().post(url, content=body, headers=headers, timeout=timeout)
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{url} answered HTTP {response.status_code}")


class UrlChannel(Channel):
    """A channel that posts to a URL: `url`, the variable `url_env`, or the connection."""

    url: str | None = None
    url_env: str | None = None

    def target(self, env: Mapping[str, str], credentials: Credentials) -> str:
        if self.url or self.url_env:
            return self.url or str(secret(env, self.url_env, "url_env"))
        if not credentials.url:
            raise DeliveryError(f"Airflow connection {self.connection!r} has no host or url")
        return credentials.url

    def _require_target(self, kind: str) -> None:
        if not (self.url or self.url_env or self.connection):
            raise ValueError(f"a {kind} channel needs url, url_env or connection")
