"""Real alert receivers on 127.0.0.1: an HTTP endpoint (webhook or Slack-compatible) that
records what it gets and can be told to fail, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.loopback import QuietHandler, serve


class HttpReceiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0  # answer this many requests with 503 first
        self.attempts = 0
        self.paths: list[str] = []
        self.arrivals: list[float] = []  # time.time() of each received message
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.attempts += 1
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_error(503)
                    return
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.paths.append(self.path)
                receiver.arrivals.append(time.time())
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = serve(Handler)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


class SmtpReceiver:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._handler = _Collect()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    @property
    def messages(self) -> list[Message]:
        return self._handler.messages

    def stop(self) -> None:
        self._controller.stop()
