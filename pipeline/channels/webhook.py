"""Generic webhook: the message as JSON, signed with HMAC-SHA256 when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Literal

from pydantic import model_validator

from pipeline.channels.base import UrlChannel, post, secret
from pipeline.channels.messages import Message

SIGNATURE_HEADER = "X-Newsmon-Signature"


class WebhookChannel(UrlChannel):
    type: Literal["webhook"]
    secret_env: str | None = None  # HMAC key (else the connection's password, if any)

    @model_validator(mode="after")
    def _complete(self) -> WebhookChannel:
        self._require_target("webhook")
        return self

    def send(self, message: Message, env: Mapping[str, str]) -> None:
        body = json.dumps(message.payload(), sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "X-Newsmon-Event": message.event_id}
        credentials = self.credentials()
        key = secret(env, self.secret_env, "secret_env") or credentials.password
        if key:
            digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        post(self.target(env, credentials), body, headers, self.timeout)
