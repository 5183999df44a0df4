"""Edits of the YAML config files that keep the rest of the file as the user wrote it
(comments, order, quoting): `newsmon alerts add|enable|disable`.

Each edit is checked by loading the whole config again; if that fails, the file is
put back as it was and the ConfigError is raised.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pipeline.errors import ConfigError


def _yaml() -> YAML:
    yaml = YAML()  # round-trip mode
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long queries
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def append_item(path: Path, key: str, item: dict[str, Any], check: Callable[[], object]) -> None:
    """Append `item` to the top-level list `key` (created if missing)."""

    def edit(data: CommentedMap) -> None:
        items = data.get(key)
        if items is None:
            items = data[key] = CommentedSeq()
        if not isinstance(items, list):
            raise ConfigError(str(path), key, "must be a list")
        entry = CommentedMap()
        for name, value in item.items():
            entry[name] = _flow(value)
        items.append(entry)

    _edit(path, edit, check)


def set_field(
    path: Path, key: str, item_id: str, field: str, value: Any, check: Callable[[], object]
) -> None:
    """Set `field` of the entry with id `item_id` in the top-level list `key`."""

    def edit(data: CommentedMap) -> None:
        for entry in data.get(key) or []:
            if isinstance(entry, dict) and entry.get("id") == item_id:
                entry[field] = value
                return
        raise ConfigError(str(path), key, f"no entry with id {item_id!r}")

    _edit(path, edit, check)


def _flow(value: Any) -> Any:
    """Lists and mappings on one line, as the hand-written entries are."""
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap(value)
        mapping.fa.set_flow_style()
        return mapping
    return value


def _edit(path: Path, edit: Callable[[CommentedMap], None], check: Callable[[], object]) -> None:
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    yaml = _yaml()
    data = yaml.load(original) if original.strip() else CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ConfigError(str(path), "", "the file must hold a mapping at the top level")
    edit(data)
    out = io.StringIO()
    yaml.dump(data, out)
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        check()
    except ConfigError:
        path.write_text(original, encoding="utf-8")
        raise
