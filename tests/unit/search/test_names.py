"""Names for ids: entities, topics, feeds, and sites that are only a host."""

from __future__ import annotations

from pipeline.search.names import Names

NAMES = Names(
    entities={"kim-jong-un": "Kim Jong Un"},
    topics={"ukraine-war": "War in Ukraine"},
    feeds={"world": "Fixture World News", "asia": "Asia Desk"},
    sites={"asia.example": "Asia Desk"},
)


def test_ids_become_names_and_unknown_ids_stay() -> None:
    assert NAMES.label("entities", "kim-jong-un") == "Kim Jong Un"
    assert NAMES.label("topics", "ukraine-war") == "War in Ukraine"
    assert NAMES.label("entities", "someone-new") == "someone-new"
    assert NAMES.label("language", "ko") == "ko"


def test_a_site_reads_as_its_name_never_as_host_and_port() -> None:
    assert NAMES.source("BBC News", "world") == "BBC News"  # the page's own site name
    assert NAMES.source("127.0.0.1:8765", "world") == "Fixture World News"  # its feed's
    assert NAMES.source("www.asia.example") == "Asia Desk"  # the one feed on that host
    assert NAMES.source("127.0.0.1:8765") == "127.0.0.1"  # a shared host: no port
    assert NAMES.source(None) == "?"
