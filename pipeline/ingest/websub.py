"""WebSub (PubSubHubbub) subscriber: feeds that advertise a hub push new items to
newsmon's HTTP endpoint (`newsmon serve` at `websub_callback_url`), which ingests them
at once through the same path as a poll.

1. A poll sees `<link rel="hub">`: newsmon asks the hub to subscribe (topic = the
   feed's rel="self" URL, callback = <websub_callback_url>/websub/<feed id>, a fresh
   random secret) and keeps the subscription in the feed's state (`pending`).
2. The hub verifies with a GET carrying hub.challenge; it is echoed only for the
   topic newsmon asked for, and the subscription becomes `active` with its lease.
3. The hub POSTs new content signed with X-Hub-Signature (HMAC of the body with the
   secret); unsigned or wrongly signed pushes are refused, signed ones are ingested.
4. Polls renew the subscription when less than a day of the lease is left; polling
   goes on meanwhile, so nothing is lost while a hub is down.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from pipeline.config import FeedConfig, Settings
from pipeline.errors import FetchError
from pipeline.ingest.download import check_url
from pipeline.store.feeds import FeedState, load_states, save_websub

RENEW_BEFORE = timedelta(days=1)
SIGNATURES = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def callback_url(settings: Settings, feed_id: str) -> str:
    return f"{str(settings.websub_callback_url).rstrip('/')}/websub/{feed_id}"


def keep_subscribed(
    client: httpx.Client,
    es: Elasticsearch,
    settings: Settings,
    feed: FeedConfig,
    hub: str,
    topic: str | None,
    state: FeedState,
    now: datetime | None = None,
) -> None:
    """Subscribe, or renew a lease that is running out; the outcome goes into `state`."""
    now = now or datetime.now(UTC)
    topic = topic or feed.url
    lease_until = (
        datetime.fromisoformat(state.websub_lease_until) if state.websub_lease_until else None
    )
    if (
        state.websub_state in ("active", "pending")
        and state.websub_hub == hub
        and state.websub_topic == topic
        and (lease_until is None or lease_until - now > RENEW_BEFORE)
    ):
        return
    # Saved before asking: the hub may verify before this poll is over.
    state.websub_hub, state.websub_topic = hub, topic
    state.websub_secret, state.websub_state = secrets.token_hex(32), "pending"
    save_websub(es, settings, state)
    try:
        check_url(hub, allow_private=settings.allow_private_networks)
        response = client.post(
            hub,
            data={
                "hub.mode": "subscribe",
                "hub.topic": topic,
                "hub.callback": callback_url(settings, feed.id),
                "hub.secret": state.websub_secret,
                "hub.lease_seconds": str(settings.websub_lease_seconds),
            },
            timeout=settings.http_timeout,
        )
    except (FetchError, httpx.HTTPError) as exc:
        _failed(es, settings, state, f"subscribe: {exc}")
        return
    if response.status_code not in (202, 204):
        _failed(es, settings, state, f"hub answered HTTP {response.status_code} to subscribe")


def _failed(es: Elasticsearch, settings: Settings, state: FeedState, error: str) -> None:
    # Only if the hub has not verified meanwhile (it may answer after verifying).
    current = load_states(es, settings, [state.feed_id])[state.feed_id]
    if current.websub_state != "active":
        state.websub_state, state.websub_error = "failed", error
        save_websub(es, settings, state)


def verify(state: FeedState, params: dict[str, str], now: datetime | None = None) -> str | None:
    """The hub's verification GET: the challenge to echo, or None to refuse."""
    mode, topic = params.get("hub.mode"), params.get("hub.topic")
    if mode != "subscribe" or not topic or topic != state.websub_topic:
        return None
    challenge = params.get("hub.challenge")
    if not challenge:
        return None
    lease = int(params.get("hub.lease_seconds") or 0)
    now = now or datetime.now(UTC)
    state.websub_state = "active"
    state.websub_lease_until = (now + timedelta(seconds=lease)).isoformat() if lease else None
    return challenge


def signature_ok(state: FeedState, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature: "<algorithm>=<hex HMAC of the body with the secret>"."""
    if not header or not state.websub_secret or "=" not in header:
        return False
    algorithm, _, given = header.partition("=")
    digest = SIGNATURES.get(algorithm.strip().lower())
    if digest is None:
        return False
    expected = hmac.new(state.websub_secret.encode(), body, digest).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def subscription(state: FeedState) -> dict[str, Any]:
    """What `newsmon feeds` shows (never the secret)."""
    return {
        "hub": state.websub_hub,
        "state": state.websub_state,
        "lease_until": state.websub_lease_until,
        "error": state.websub_error,
    }
