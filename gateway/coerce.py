"""Typed values from loosely typed bodies: forms send every value as a string,
JSON clients send numbers or strings. Each failure names the field."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from chartsnap import errors

TRUE = ("true", "1", "yes", "on")
INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
# What a protobuf Timestamp can hold: years 1 to 9999. A millisecond epoch lands
# past it and is refused here, naming the field, instead of failing later.
EPOCH_RANGE = (-62135596800, 253402300799)
FALSE = ("false", "0", "no", "off", "")


def integer(value: Any, field: str, message: str = "must be an integer",
            bounds: tuple[int, int] = INT64) -> int:
    """An integer within `bounds` (the protobuf field's range by default)."""
    result: int | None = None
    if isinstance(value, bool):
        result = None
    elif isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and INTEGER.fullmatch(value.strip()) and len(value.strip()) <= 40:
        result = int(value.strip())
    if result is None:
        raise errors.InvalidParams.one(field, message)
    if not bounds[0] <= result <= bounds[1]:
        raise errors.InvalidParams.one(field, f"{message} between {bounds[0]} and {bounds[1]}")
    return result


def int32(value: Any, field: str, message: str = "must be an integer") -> int:
    return integer(value, field, message, INT32)


def number(value: Any, field: str) -> float:
    if isinstance(value, bool):
        raise errors.InvalidParams.one(field, "must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
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
    try:
        result.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidParams.one(field, "must be valid Unicode text") from None
    if len(result) > max_len:
        raise errors.InvalidParams.one(field, f"must be at most {max_len} characters")
    return result


def epoch_seconds(value: Any, field: str) -> int:
    """Unix epoch seconds (integer) or an ISO 8601 time."""
    if isinstance(value, bool):
        raise errors.InvalidParams.one(field, "must be Unix epoch seconds or an ISO 8601 time")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise errors.InvalidParams.one(field, "must be Unix epoch seconds or an ISO 8601 time")
        return integer(int(value), field, "must be Unix epoch seconds", EPOCH_RANGE)
    if isinstance(value, str):
        stripped = value.strip()
        if INTEGER.fullmatch(stripped):
            return integer(stripped, field, "must be Unix epoch seconds", EPOCH_RANGE)
        try:
            parsed = datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return integer(int(parsed.timestamp()), field, "must be a time from year 1 to 9999", EPOCH_RANGE)
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
