"""Guarded HTTP GET for untrusted URLs (feeds and article pages).

Feeds are untrusted input: a URL in a feed must not make newsmon reach a private
or loopback address, read an endless body, or follow redirects forever. Errors
are split into TransientFetchError (retry later) and PermanentFetchError.

Addresses are checked where the connection is made (`PublicOnlyBackend`): the host is
resolved once, every address it resolves to must be public, and the socket connects
to exactly those addresses. Checking a name and letting the HTTP client resolve it
again would leave a window in which a DNS answer can change (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import ipaddress
import random
import socket
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from pipeline.config import Settings
from pipeline.errors import PermanentFetchError, TransientFetchError
from pipeline.ingest.politeness import Gate

MAX_REDIRECTS = 5
RETRIES = 2
BACKOFF_SECONDS = 0.5
REDIRECT_CODES = {301, 302, 303, 307, 308}
TRANSIENT_CODES = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes


class NonPublicAddress(Exception):
    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.address = address


class PublicOnlyBackend(httpcore.SyncBackend):
    """Connects only to public addresses, the very ones it checked."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            if not is_public(address):
                raise NonPublicAddress(address)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} resolves to no address")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global


def make_client(settings: Settings) -> httpx.Client:
    timeout = httpx.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))
    transport = httpx.HTTPTransport(trust_env=False)
    if not settings.allow_private_networks:
        # httpx has no public hook for the network backend of its connection pool.
        transport._pool._network_backend = PublicOnlyBackend()
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        headers={"User-Agent": settings.user_agent},
        follow_redirects=False,  # redirects are followed by hand, each hop checked
        trust_env=False,
    )


def fetch(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    allow_private: bool,
    deadline_seconds: float = 60.0,
    headers: dict[str, str] | None = None,
    gate: Gate | None = None,
    retries: int = RETRIES,
) -> Response:
    """GET `url`, following redirects, refusing non-public addresses unless allowed.
    A 304 (answer to conditional `headers`) comes back as a Response with no body.

    A quick transient failure (HTTP 5xx/429, connection refused or reset) is retried
    `retries` times with exponential backoff and jitter, sooner never than a short
    Retry-After; slow ones (timeouts, the deadline) are not: they already took their
    time, and the next poll retries them."""
    deadline = time.monotonic() + deadline_seconds
    for attempt in range(retries + 1):
        try:
            return _fetch_once(client, url, max_bytes, deadline, allow_private, headers, gate)
        except TransientFetchError as exc:
            wait = BACKOFF_SECONDS * 2**attempt * random.uniform(0.5, 1.5)
            wait = max(wait, exc.retry_after or 0)
            if not exc.quick or attempt == retries or time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)
    raise AssertionError("unreachable")


def _fetch_once(
    client: httpx.Client,
    url: str,
    max_bytes: int,
    deadline: float,
    allow_private: bool,
    headers: dict[str, str] | None,
    gate: Gate | None,
) -> Response:
    seen: set[str] = set()
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        if current in seen:
            raise PermanentFetchError(url, f"redirect loop at {current}")
        seen.add(current)
        check_url(current, allow_private=allow_private)
        host = urlsplit(current).hostname or ""
        try:
            with (
                _host_turn(gate, host) as waited,
                client.stream("GET", current, headers=headers) as response,
            ):
                # Waiting for the host's turn is politeness, not a slow server: it does
                # not count against the deadline.
                deadline += waited
                location = response.headers.get("location")
                if response.status_code in REDIRECT_CODES and location:
                    current = urljoin(current, location)
                    continue
                _raise_for_status(url, response.status_code, response.headers.get("retry-after"))
                body = _read_limited(url, response, max_bytes, deadline)
                return Response(
                    url=url,
                    final_url=current,
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body,
                )
        except NonPublicAddress as exc:
            raise PermanentFetchError(url, _refusal(exc.address)) from None
        except httpx.TimeoutException:
            raise TransientFetchError(url, "timed out", quick=False) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise TransientFetchError(url, f"connection failed: {exc}") from None
        except httpx.DecodingError as exc:
            raise PermanentFetchError(url, f"cannot decode body: {exc}") from None
        except httpx.HTTPError as exc:
            raise PermanentFetchError(url, str(exc)) from None
    raise PermanentFetchError(url, f"more than {MAX_REDIRECTS} redirects")


@contextlib.contextmanager
def _host_turn(gate: Gate | None, host: str) -> Iterator[float]:
    """Hold one of the host's politeness slots; yields how long the wait for it took."""
    if gate is None:
        yield 0.0
        return
    queued = time.monotonic()
    with gate.slot(host):
        yield time.monotonic() - queued


def check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise PermanentFetchError(url, f"unsupported scheme {parts.scheme!r}")
    if not parts.hostname:
        raise PermanentFetchError(url, "no host in URL")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TransientFetchError(url, f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        if not is_public(str(info[4][0])):
            raise PermanentFetchError(url, _refusal(str(info[4][0])))


def _refusal(address: str) -> str:
    return f"refusing non-public address {address} (set NEWSMON_ALLOW_PRIVATE_NETWORKS=1 to allow)"


def _raise_for_status(url: str, status: int, retry_after: str | None = None) -> None:
    if status in TRANSIENT_CODES or status >= 500:
        wait = parse_retry_after(retry_after)
        hint = f" (Retry-After {wait:.0f} s)" if wait is not None else ""
        raise TransientFetchError(url, f"HTTP {status}{hint}", wait)
    if status >= 400 or status < 200:
        raise PermanentFetchError(url, f"HTTP {status}")
    if status in REDIRECT_CODES:
        raise PermanentFetchError(url, f"HTTP {status} without Location")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _read_limited(url: str, response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    # iter_bytes() decodes Content-Encoding, so the limit bounds the decompressed
    # size too (a gzip bomb stops at max_bytes).
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise PermanentFetchError(url, f"body larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise TransientFetchError(url, "response too slow (deadline exceeded)", quick=False)
        chunks.append(chunk)
    return b"".join(chunks)


def gunzip_if_compressed(body: bytes, max_bytes: int, url: str = "(body)") -> bytes:
    """Some servers send gzip bodies without Content-Encoding; unpack those, bounded."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(body, max_bytes + 1)
    except (zlib.error, gzip.BadGzipFile):
        return body
    if len(data) > max_bytes:
        raise PermanentFetchError(url, f"gzip body expands past {max_bytes} bytes")
    return data
