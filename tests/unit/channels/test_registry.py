"""alerts.yaml's `type` picks a channel class from the registry; each validates itself."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from pipeline.channels import ChannelConfig
from pipeline.channels.email import EmailChannel
from pipeline.channels.log import LogChannel
from pipeline.channels.slack import SlackChannel
from pipeline.channels.webhook import WebhookChannel

ADAPTER: TypeAdapter[ChannelConfig] = TypeAdapter(ChannelConfig)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ({"type": "webhook", "url": "https://hooks.example/x"}, WebhookChannel),
        ({"type": "slack", "url_env": "SLACK_URL"}, SlackChannel),
        ({"type": "email", "smtp_host": "mx", "sender": "a@b", "to": ["c@d"]}, EmailChannel),
        ({"type": "log", "path": "/tmp/alerts.jsonl"}, LogChannel),
    ],
)
def test_type_picks_the_channel_class(raw: dict[str, object], kind: type) -> None:
    assert type(ADAPTER.validate_python(raw)) is kind


def test_a_channel_rejects_another_channels_settings() -> None:
    with pytest.raises(ValidationError, match="smtp_host"):
        ADAPTER.validate_python({"type": "webhook", "url": "https://x", "smtp_host": "mx"})
