"""A WebSub hub on 127.0.0.1 for tests: takes subscriptions, verifies them against the
subscriber's callback (GET with a challenge), and publishes signed content."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx

from tests.support.loopback import QuietHandler, serve


@dataclass
class Subscription:
    callback: str
    topic: str
    secret: str
    verified: bool = False


class LoopbackHub:
    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self.verified = threading.Event()
        hub = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if form.get("hub.mode") != "subscribe":
                    self.send_error(400)
                    return
                subscription = Subscription(
                    form["hub.callback"], form["hub.topic"], form["hub.secret"]
                )
                hub.subscriptions.append(subscription)
                self.send_response(202)
                self.end_headers()
                # Verification is asynchronous, as with real hubs.
                threading.Thread(target=hub._verify, args=(subscription,), daemon=True).start()

        self._server = serve(Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def _verify(self, subscription: Subscription) -> None:
        challenge = secrets.token_hex(8)
        params = {
            "hub.mode": "subscribe",
            "hub.topic": subscription.topic,
            "hub.challenge": challenge,
            "hub.lease_seconds": "86400",
        }
        for _attempt in range(3):  # real hubs retry a verification that failed
            try:
                response = httpx.get(subscription.callback, params=params, timeout=10)
            except httpx.HTTPError:
                time.sleep(1)
                continue
            if response.status_code == 200 and response.text == challenge:
                subscription.verified = True
                self.verified.set()
                return
            time.sleep(1)

    def publish(self, topic: str, body: bytes, secret: str | None = None) -> list[int]:
        """POST the content to every verified subscriber of `topic`, signed with its
        secret (or with `secret`, to test a forged push)."""
        statuses = []
        for subscription in self.subscriptions:
            if subscription.topic != topic or not subscription.verified:
                continue
            key = (secret or subscription.secret).encode()
            signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            response = httpx.post(
                subscription.callback,
                content=body,
                headers={"Content-Type": "application/rss+xml", "X-Hub-Signature": signature},
                timeout=10,
            )
            statuses.append(response.status_code)
        return statuses

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
