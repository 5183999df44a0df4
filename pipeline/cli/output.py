"""What every command shares: exit codes, JSON output, filter options, a checked client."""

from __future__ import annotations

import argparse
import json
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.config import Settings
from pipeline.store import connect

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2

FILTER_OPTIONS = (
    ("topic", "topics"),
    ("source", "sources"),
    ("language", "languages"),
    ("entity", "entities"),
)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """--topic/--source/--language/--entity, each repeatable (search and alert rules)."""
    for option, key in FILTER_OPTIONS:
        parser.add_argument(f"--{option}", action="append", dest=key, default=[])


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def elasticsearch(settings: Settings, setup: bool = True) -> Elasticsearch:
    """A client to a cluster that answers (indices created unless `setup` is False)."""
    return connect(settings, setup=setup)
