"""A real HTTP server on 127.0.0.1 serving broken and hostile feeds, each built in code
so the bytes are exactly what the case needs (encodings, gzip, sizes)."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable

from tests.support.loopback import QuietHandler, serve

RSS = "application/rss+xml"


def rss(items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return (
        f'{prolog}<rss version="2.0"><channel><title>T</title><link>/</link>{items}</channel></rss>'
    )


def item(title: str, link: str | None = "/a/1", guid: str | None = None, date: bool = True) -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f"<guid>{guid}</guid>")
    if date:
        parts.append("<pubDate>Fri, 20 Nov 2026 08:30:00 GMT</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


def _bomb() -> bytes:
    # 50 MB of spaces compress to ~50 KB: far past any feed limit once unpacked.
    return gzip.compress(rss(item("x")).encode() + b" " * 50_000_000)


Route = tuple[int, dict[str, str], bytes]
ROUTES: dict[str, Callable[[], Route]] = {
    "/malformed.rss": lambda: (
        200,
        {"Content-Type": RSS},
        # An unescaped & and an unclosed <b>: feedparser's "bozo" case, still readable.
        rss(item("Talks & more <b>bold", "/a/malformed")).encode(),
    ),
    "/latin1.rss": lambda: (
        200,
        {"Content-Type": "application/xml"},  # no charset anywhere, bytes are Latin-1
        rss(item("Café in Pyongyang: Kim's visit", "/a/latin1"), '<?xml version="1.0"?>').encode(
            "latin-1"
        ),
    ),
    "/cp1251.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(
            item("Путин встретился с Ким Чен Ыном", "/a/cp1251"),
            '<?xml version="1.0" encoding="windows-1251"?>',
        ).encode("cp1251"),
    ),
    "/gb2312.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(item("朝鲜发射导弹", "/a/gb2312"), '<?xml version="1.0" encoding="gb2312"?>').encode(
            "gb2312"
        ),
    ),
    "/gzip-no-header.rss": lambda: (
        200,
        {"Content-Type": RSS},
        gzip.compress(rss(item("Zipped", "/a/zipped")).encode()),
    ),
    "/bomb.rss": lambda: (200, {"Content-Type": RSS, "Content-Encoding": "gzip"}, _bomb()),
    "/bomb-no-header.rss": lambda: (200, {"Content-Type": RSS}, _bomb()),
    "/huge.rss": lambda: (200, {"Content-Type": RSS}, b"<rss>" + b"x" * 3_000_000),
    "/loop-a.rss": lambda: (302, {"Location": "/loop-b.rss"}, b""),
    "/loop-b.rss": lambda: (302, {"Location": "/loop-a.rss"}, b""),
    "/page.html": lambda: (
        200,
        {"Content-Type": "text/html"},
        b"<html><body><h1>Welcome</h1><p>No feed here.</p></body></html>",
    ),
    "/relative.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(
            item("Relative", "../news/2026/story.html") + item("Rooted", "/news/other.html")
        ).encode(),
    ),
    "/no-links.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(
            item("No link, no guid", None)
            + item("Guid only", None, guid="https://news.example/guid-link")
            + item("No date", "/a/undated", date=False)
        ).encode(),
    ),
    "/duplicate-guids.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(
            item("First", "/a/one", guid="same")
            + item("Second", "/a/two", guid="same")
            + item("First again", "/a/one?utm_source=x", guid="other")
        ).encode(),
    ),
    "/private-links.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(
            item("Metadata", "http://169.254.169.254/latest/meta-data/")
            + item("Intranet", "http://10.0.0.7/admin")
            + item("File", "file:///etc/passwd")
            + item("Script", "javascript:alert(1)")
        ).encode(),
    ),
    "/gone.rss": lambda: (410, {"Content-Type": "text/plain"}, b"gone"),
    "/robots.txt": lambda: (
        200,
        {"Content-Type": "text/plain"},
        b"User-agent: otherbot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n",
    ),
    "/private/story.html": lambda: (200, {"Content-Type": "text/html"}, b"<p>private</p>"),
    "/open/story.html": lambda: (200, {"Content-Type": "text/html"}, b"<p>open</p>"),
    "/busy.rss": lambda: (503, {"Retry-After": "120"}, b"busy"),
    "/flaky.rss": lambda: (
        200,
        {"Content-Type": RSS},
        rss(item("Third time", "/a/flaky")).encode(),
    ),
}


class HostileSite:
    def __init__(self) -> None:
        site = self
        self.hits: dict[str, int] = {}

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                if path == "/endless.rss":
                    self._endless()
                    return
                if path == "/flaky.rss" and site.hits[path] <= 2:  # fails twice, then works
                    self.send_error(503)
                    return
                route = ROUTES.get(path)
                if route is None:
                    self.send_error(404)
                    return
                status, headers, body = route()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _endless(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", RSS)
                self.end_headers()
                try:
                    while True:  # a byte now and then, forever
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.2)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = serve(Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
