"""Typed values from loosely typed bodies: forms send every value as a string,
JSON clients send numbers or strings. Each failure names the field."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from chartsnap import errors

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off", "")


def integer(value: Any, field: str, message: str = "must be an integer") -> int:
    if isinstance(value, bool):
        raise errors.InvalidParams.one(field, message)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise errors.InvalidParams.one(field, message)


def number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise errors.InvalidParams.one(field, "must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise errors.InvalidParams.one(field, "must be a number") from None
    if not math.isfinite(result):
        raise errors.InvalidParams.one(field, "must be a finite number")
    return result


def boolean(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise errors.InvalidParams.one(field, "must be true or false")


def text(value: Any, field: str, max_len: int = 10_000) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise errors.InvalidParams.one(field, "must be a string")
    result = str(value)
    if len(result) > max_len:
        raise errors.InvalidParams.one(field, f"must be at most {max_len} characters")
    return result


def epoch_seconds(value: Any, field: str) -> int:
    """Unix epoch seconds (integer) or an ISO 8601 time."""
    if isinstance(value, bool):
        raise errors.InvalidParams.one(field, "must be Unix epoch seconds or an ISO 8601 time")
    if isinstance(value, (int, float)) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.lstrip("-").isdigit():
            return int(stripped)
        try:
            parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return int(parsed.timestamp())
    raise errors.InvalidParams.one(field, "must be Unix epoch seconds or an ISO 8601 time")


def as_list(value: Any, field: str) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):  # a form's indexed list that had gaps stays a dict
        return list(value.values())
    raise errors.InvalidParams.one(field, "must be a list")


def as_dict(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise errors.InvalidParams.one(field, "must be an object")
