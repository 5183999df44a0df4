"""Exceptions raised by newsmon.

NewsmonError
├── ConfigError          a config file is invalid (exit code 2)
├── FetchError           an HTTP fetch failed
│   ├── TransientFetchError  worth retrying later (timeout, 5xx, 429, reset)
│   └── PermanentFetchError  will not get better by retrying (404, refused address, too big)
├── FeedParseError       the bytes are not a feed we can read
├── SearchSyntaxError    the analyst's query does not parse
├── NotFound             a named thing (saved search, ...) does not exist
└── DeliveryError        an alert channel did not take a message
"""

from __future__ import annotations


class NewsmonError(Exception):
    """Base class of every error newsmon raises on purpose."""


class ConfigError(NewsmonError):
    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class FetchError(NewsmonError):
    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


class TransientFetchError(FetchError):
    def __init__(
        self, url: str, reason: str, retry_after: float | None = None, quick: bool = True
    ) -> None:
        super().__init__(url, reason)
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503)
        self.quick = quick  # failed fast (worth retrying now), not after a timeout


class PermanentFetchError(FetchError):
    pass


class FeedParseError(NewsmonError):
    pass


class SearchSyntaxError(NewsmonError):
    pass


class NotFound(NewsmonError):
    pass


class DeliveryError(NewsmonError):
    """An alert channel did not accept a message; the event stays pending and is retried."""
