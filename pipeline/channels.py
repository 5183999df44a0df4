"""Alert channels: generic webhook, Slack incoming webhook, email over SMTP, log file.

`send` raises DeliveryError when a channel does not take the message; the caller
keeps the event pending and retries it later. Secrets are read from the
environment variables the channel config names, or from an Airflow connection.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any

import httpx

from pipeline.config import ChannelConfig
from pipeline.errors import DeliveryError

SIGNATURE_HEADER = "X-Newsmon-Signature"


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

    def summary(self) -> str:
        terms = ", ".join(self.matched_terms) or "-"
        return f"{self.title}\n{self.site or '?'} {_when(self)}\nmatched: {terms}\n{self.url}"

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


def _when(item: AlertMessage) -> str:
    return (item.published_at or "")[:16].replace("T", " ")


def send(
    name: str, channel: ChannelConfig, message: Message, env: Mapping[str, str] | None = None
) -> None:
    env = os.environ if env is None else env
    senders = {"webhook": _webhook, "slack": _slack, "email": _email, "log": _log}
    try:
        senders[channel.type](channel, message, env)
    except DeliveryError:
        raise
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"channel {name}: {type(exc).__name__}: {exc}") from None


def _secret(env: Mapping[str, str], name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = env.get(name)
    if not value:
        raise DeliveryError(f"{what}: environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class Credentials:
    """What a channel's Airflow connection provides: the endpoint and its secrets."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None


@functools.lru_cache(maxsize=64)  # one lookup per connection per process, not per message
def airflow_connection(conn_id: str) -> Credentials:
    """Read an Airflow connection (AIRFLOW_CONN_<ID> variables, the metadata database or
    a secrets backend, as Airflow itself resolves them; inside a task, via the task SDK).
    URL channels take `extra.url`, or schema://host:port plus `extra.path`."""
    try:
        from airflow.sdk import BaseHook  # imported late: costly, and only needed here

        connection = BaseHook.get_connection(conn_id)
    except Exception as exc:  # Airflow raises several unrelated types for "not there"
        raise DeliveryError(f"Airflow connection {conn_id!r}: {exc}") from None
    extra = connection.extra_dejson or {}
    url = extra.get("url")
    if not url and connection.host:
        base = connection.host
        if "://" not in base:
            port = f":{connection.port}" if connection.port else ""
            base = f"{connection.schema or 'https'}://{base}{port}"
        url = base + str(extra.get("path", ""))
    return Credentials(
        url=url,
        host=connection.host,
        port=connection.port,
        login=connection.login,
        password=connection.password,
    )


def _credentials(channel: ChannelConfig) -> Credentials:
    return airflow_connection(channel.connection) if channel.connection else Credentials()


def _url(channel: ChannelConfig, env: Mapping[str, str], credentials: Credentials) -> str:
    if channel.url or channel.url_env:
        return channel.url or str(_secret(env, channel.url_env, "url_env"))
    if not credentials.url:
        raise DeliveryError(f"Airflow connection {channel.connection!r} has no host or url")
    return credentials.url


# One client for all posts: creating one per message (as httpx.post does) builds a new
# TLS context each time, which cost more than the delivery itself.
_HTTP = httpx.Client(follow_redirects=False)


def _post(channel: ChannelConfig, url: str, body: bytes, headers: dict[str, str]) -> None:
    response = _HTTP.post(url, content=body, headers=headers, timeout=channel.timeout)
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{url} answered HTTP {response.status_code}")


def _webhook(channel: ChannelConfig, message: Message, env: Mapping[str, str]) -> None:
    body = json.dumps(message.payload(), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "X-Newsmon-Event": message.event_id}
    credentials = _credentials(channel)
    secret = _secret(env, channel.secret_env, "secret_env") or credentials.password
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers[SIGNATURE_HEADER] = f"sha256={digest}"
    _post(channel, _url(channel, env, credentials), body, headers)


def _slack(channel: ChannelConfig, message: Message, env: Mapping[str, str]) -> None:
    items = message.items if isinstance(message, Digest) else [message]
    blocks = [_slack_block(item) for item in items[:SLACK_MAX_BLOCKS]]
    if isinstance(message, Digest):
        header = {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}}
        blocks.insert(0, header)
    payload = {"text": f"{message.subject}\n{message.summary()}"[:3000], "blocks": blocks}
    _post(
        channel,
        _url(channel, env, _credentials(channel)),
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
    )


SLACK_MAX_BLOCKS = 45  # Slack takes at most 50 blocks per message


def _slack_block(item: AlertMessage) -> dict[str, Any]:
    text = (
        f"*<{item.url}|{_slack_escape(item.title)}>*\n"
        f"{_slack_escape(item.site or '?')} · {_when(item)}\n"
        f"Matched: {_slack_escape(', '.join(item.matched_terms) or '-')} "
        f"(rule `{item.rule_id}`)"
    )
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _email(channel: ChannelConfig, message: Message, env: Mapping[str, str]) -> None:
    email = EmailMessage()
    email["Subject"] = message.subject[:250]
    email["From"] = str(channel.sender)
    email["To"] = ", ".join(channel.to)
    email["X-Newsmon-Event"] = message.event_id
    email.set_content(message.summary())
    items = message.items if isinstance(message, Digest) else [message]
    email.add_alternative("\n".join(_email_html(item) for item in items), subtype="html")
    credentials = _credentials(channel)
    username = _secret(env, channel.username_env, "username_env") or credentials.login
    password = _secret(env, channel.password_env, "password_env") or credentials.password
    host = channel.smtp_host or credentials.host
    port = credentials.port if channel.connection and credentials.port else channel.smtp_port
    with smtplib.SMTP(str(host), port, timeout=channel.timeout) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if username and password:
            smtp.login(username, password)
        smtp.send_message(email)


def _log(channel: ChannelConfig, message: Message, env: Mapping[str, str]) -> None:
    path = Path(str(channel.path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(message.payload(), ensure_ascii=False) + "\n")


def _email_html(item: AlertMessage) -> str:
    terms = escape(", ".join(item.matched_terms) or "-")
    return (
        f'<p><a href="{escape(item.url, quote=True)}">{escape(item.title)}</a><br>'
        f"{escape(item.site or '?')} · {escape(_when(item))}<br>"
        f"Matched: {terms} (rule <code>{escape(item.rule_id)}</code>)</p>"
    )
