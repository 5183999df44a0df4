"""Slack incoming webhook: a section block per story (a header first for digests)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import model_validator

from pipeline.channels.base import UrlChannel, post
from pipeline.channels.messages import AlertMessage, Digest, Message

MAX_BLOCKS = 45  # Slack takes at most 50 blocks per message


class SlackChannel(UrlChannel):
    type: Literal["slack"]

    @model_validator(mode="after")
    def _complete(self) -> SlackChannel:
        self._require_target("slack")
        return self

    def send(self, message: Message, env: Mapping[str, str]) -> None:
        blocks = [_block(item) for item in message.items[:MAX_BLOCKS]]
        if isinstance(message, Digest):
            header = {
                "type": "header",
                "text": {"type": "plain_text", "text": message.subject[:150]},
            }
            blocks.insert(0, header)
        payload = {"text": f"{message.subject}\n{message.summary()}"[:3000], "blocks": blocks}
        url = self.target(env, self.credentials())
        post(url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, self.timeout)


def _block(item: AlertMessage) -> dict[str, Any]:
    text = (
        f"*<{item.url}|{_escape(item.title)}>*\n"
        f"{_escape(item.site or '?')} · {item.when}\n"
        f"Matched: {_escape(', '.join(item.matched_terms) or '-')} "
        f"(rule `{item.rule_id}`)"
    )
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
