from __future__ import annotations

import pytest

from pipeline.errors import SearchSyntaxError
from pipeline.search.pages import _decode_cursor, _encode_cursor, _timeline_interval
from pipeline.search.query import Filters, filter_clauses


def test_filter_clauses() -> None:
    clauses = filter_clauses(
        Filters(topics=["t"], sources=["tass"], since="2026-11-01", until=None)
    )
    assert {"terms": {"topics": ["t"]}} in clauses
    assert {"range": {"published_at": {"gte": "2026-11-01"}}} in clauses
    sources = next(c for c in clauses if "bool" in c)["bool"]["should"]
    assert {"terms": {"feed_id": ["tass"]}} in sources
    assert filter_clauses(Filters()) == []


def test_timeline_is_hourly_for_short_ranges() -> None:
    assert _timeline_interval(Filters(since="2026-11-20", until="2026-11-22")) == "hour"
    assert _timeline_interval(Filters(since="2026-11-01", until="2026-11-22")) == "day"
    assert _timeline_interval(Filters(since="2026-11-20")) == "day"
    assert _timeline_interval(Filters(since="garbage", until="2026-11-22")) == "day"


def test_cursor_round_trip_and_bad_cursor() -> None:
    values = [1.5, "2026-11-20T00:00:00Z", "https://x/y"]
    assert _decode_cursor(_encode_cursor(values)) == values
    for bad in ("not-a-cursor", _encode_cursor({"a": 1})):  # type: ignore[arg-type]
        with pytest.raises(SearchSyntaxError, match="invalid page cursor"):
            _decode_cursor(bad)
