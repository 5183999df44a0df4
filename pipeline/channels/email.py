"""Email over SMTP (STARTTLS by default): plain text and an HTML list of the stories."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from html import escape
from typing import Literal

from pydantic import Field, model_validator

from pipeline.channels.base import Channel, secret
from pipeline.channels.messages import AlertMessage, Message


class EmailChannel(Channel):
    type: Literal["email"]
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username_env: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> EmailChannel:
        if not ((self.smtp_host or self.connection) and self.sender and self.to):
            raise ValueError("an email channel needs smtp_host (or connection), sender and to")
        return self

    def send(self, message: Message, env: Mapping[str, str]) -> None:
        email = EmailMessage()
        email["Subject"] = message.subject[:250]
        email["From"] = str(self.sender)
        email["To"] = ", ".join(self.to)
        email["X-Newsmon-Event"] = message.event_id
        email.set_content(message.summary())
        email.add_alternative("\n".join(_html(item) for item in message.items), subtype="html")
        credentials = self.credentials()
        username = secret(env, self.username_env, "username_env") or credentials.login
        password = secret(env, self.password_env, "password_env") or credentials.password
        host = self.smtp_host or credentials.host
        port = credentials.port if self.connection and credentials.port else self.smtp_port
        with smtplib.SMTP(str(host), port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username and password:
                smtp.login(username, password)
            smtp.send_message(email)


def _html(item: AlertMessage) -> str:
    terms = escape(", ".join(item.matched_terms) or "-")
    return (
        f'<p><a href="{escape(item.url, quote=True)}">{escape(item.title)}</a><br>'
        f"{escape(item.site or '?')} · {escape(item.when)}<br>"
        f"Matched: {terms} (rule <code>{escape(item.rule_id)}</code>)</p>"
    )
