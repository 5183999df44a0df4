"""Reading YAML files into validated models, with errors that name file, key and problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import ConfigError

SLUG = r"^[a-z0-9][a-z0-9_.-]*$"
# libyaml's safe loader when PyYAML was built with it (ten times faster), else Python's.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored); loaded config is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def load_list(path: Path, key: str, model: type[Model]) -> list[Model]:
    """A file holding one top-level list `key` of `model` items."""
    data = read_mapping(path)
    unknown = set(data) - {key}
    if unknown:
        raise ConfigError(str(path), sorted(unknown)[0], "unknown top-level key")
    return parse_list(path, data, key, model)


def parse_list(path: Path, data: dict[str, Any], key: str, model: type[Model]) -> list[Model]:
    items = data.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ConfigError(str(path), key, f"must be a list, got {type(items).__name__}")
    loaded = []
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(str(path), where, "must be a mapping")
        try:
            loaded.append(model.model_validate(item))
        except ValidationError as exc:
            field, problem = first_error(exc)
            label = f"{where} ({item.get('id')})" if item.get("id") else where
            raise ConfigError(str(path), f"{label}.{field}" if field else label, problem) from None
    return loaded


def read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc}") from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(str(path), where, f"not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "the file must hold a mapping at the top level")
    return data


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted key, message) of a validation error's first problem."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    return key, error["msg"]


def reject_duplicate_ids(path: Path, key: str, items: list[Any]) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise ConfigError(
                str(path),
                f"{key}[{index}].id",
                f"duplicate id {item.id!r} (also {key}[{seen[item.id]}])",
            )
        seen[item.id] = index
