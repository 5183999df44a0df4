"""A real HTTP server on 127.0.0.1 serving the fixture feeds and article pages.

`{{BASE}}` in a served file is replaced by the server's base URL. Besides the
files under fixtures/site it serves `/feeds/slow.rss`, which dribbles a byte
every half second and never finishes in time. Request counts per path let tests
check that a rerun does not fetch pages again.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support import FIXTURES, REPO

SITE_ROOT = FIXTURES / "site"
CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".xml": "application/xml",
    ".html": "text/html; charset=utf-8",
}


class FixtureSite:
    def __init__(self, root: Path = SITE_ROOT, port: int = 0, slow_seconds: float = 30) -> None:
        self.root = root
        self.slow_seconds = slow_seconds
        self.requests: Counter[str] = Counter()
        self.request_times: list[tuple[float, str]] = []  # (time.time(), path), in order
        self.not_modified: Counter[str] = Counter()  # 304 answers per path
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FixtureSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].split("#", 1)[0]
                site.requests[path] += 1
                site.request_times.append((time.time(), path))
                if path == "/feeds/slow.rss":
                    self._dribble()
                    return
                file = (site.root / path.lstrip("/")).resolve()
                if site.root.resolve() not in file.parents or not file.is_file():
                    self.send_error(404)
                    return
                body = file.read_bytes().replace(b"{{BASE}}", site.base_url.encode())
                # Feeds carry validators and answer 304 to them, unless asked (?plain=1) to
                # behave like the many servers that ignore conditional requests.
                validators = path.startswith("/feeds/") and "plain=1" not in self.path
                etag = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
                if validators and self.headers.get("If-None-Match") == etag:
                    site.not_modified[path] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                if validators:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", "Sat, 21 Nov 2026 03:00:00 GMT")
                self.send_header("Content-Type", CONTENT_TYPES.get(file.suffix, "text/plain"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _dribble(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPES[".rss"])
                self.end_headers()
                deadline = time.monotonic() + site.slow_seconds
                try:
                    self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
                    while time.monotonic() < deadline and not site._stopping.is_set():
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.5)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler


def write_config_dir(target: Path, base_url: str, feeds: dict[str, str]) -> Path:
    """A config dir whose feeds.yaml points at the fixture site; topics and alerts from the repo."""
    repo_config = REPO / "config"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("topics.yaml", "entities.yaml", "alerts.yaml"):
        text = (repo_config / name).read_text(encoding="utf-8")
        # The repo's log channel writes to /tmp; a test run keeps its alerts to itself.
        text = text.replace("/tmp/newsmon-alerts.jsonl", str(target / "alerts.jsonl"))
        (target / name).write_text(text, encoding="utf-8")
    lines = ["feeds:"]
    for feed_id, path in feeds.items():
        lines += [
            f"  - id: {feed_id}",
            f"    name: Fixture {feed_id}",
            f"    url: {base_url}{path}",
        ]
    (target / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


FIXTURE_FEEDS = {
    "fixture-world": "/feeds/world.rss",
    "fixture-korea": "/feeds/korea.atom",
    "fixture-not-a-feed": "/feeds/not-a-feed.html",
    "fixture-slow": "/feeds/slow.rss",
}
