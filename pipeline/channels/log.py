"""Log file: one JSON line per message (for audits, tests and tailing)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pipeline.channels.base import Channel
from pipeline.channels.messages import Message


class LogChannel(Channel):
    type: Literal["log"]
    path: Path

    def send(self, message: Message, env: Mapping[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(message.payload(), ensure_ascii=False) + "\n")
