"""Alert channels: where alert messages go. One module per channel type; each defines
its settings (a pydantic model with a `type` literal) and how it sends.

To add a channel type: write `pipeline/channels/<type>.py` with a `Channel` subclass,
and add the class to `ChannelConfig` below. alerts.yaml accepts it from then on.

`send` raises DeliveryError when a channel does not take the message; the caller
keeps the event pending and retries it later.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Mapping
from typing import Annotated

import httpx
from pydantic import Field

from pipeline.channels.email import EmailChannel
from pipeline.channels.log import LogChannel
from pipeline.channels.messages import AlertMessage, Digest, Message
from pipeline.channels.slack import SlackChannel
from pipeline.channels.webhook import SIGNATURE_HEADER, WebhookChannel
from pipeline.errors import DeliveryError

# The registry: alerts.yaml's `type` picks the class.
ChannelConfig = Annotated[
    WebhookChannel | SlackChannel | EmailChannel | LogChannel, Field(discriminator="type")
]

__all__ = ["SIGNATURE_HEADER", "AlertMessage", "ChannelConfig", "Digest", "Message", "send"]


def send(
    name: str, channel: ChannelConfig, message: Message, env: Mapping[str, str] | None = None
) -> None:
    try:
        channel.send(message, os.environ if env is None else env)
    except DeliveryError:
        raise
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"channel {name}: {type(exc).__name__}: {exc}") from None
