"""Librato's metric metadata rules: the attribute whitelist and each
attribute's form, the bounds of display_name, description and period, and
what a PUT changes. Values may arrive as form strings ("0", "true"), so each
rule also reads those; every refusal names its field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from chartsnap import errors

METRIC_NAME = re.compile(r"[A-Za-z0-9.:\-_]{1,255}")
TYPES = ("gauge", "counter")
MAX_DISPLAY_NAME = 255
MAX_DESCRIPTION = 1000
PERIOD_RANGE = (1, 31_622_400)  # a second to 366 days
SUMMARIZE_FUNCTIONS = ("average", "sum", "count", "min", "max")
COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
MAX_NUMBER = 1e126  # Librato refuses larger exponents
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# Librato sets it from the User-Agent of the request that created the metric;
# clients that send the attributes they read back include it: accepted, ignored.
SERVER_ATTRIBUTES = ("created_by_ua",)


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("must be a number") from None
    if not math.isfinite(result) or abs(result) > MAX_NUMBER:
        raise ValueError(f"must be a finite number of magnitude at most {MAX_NUMBER:g}")
    return int(result) if result.is_integer() and abs(result) < 2**53 else result


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise ValueError("must be true or false")


def _text(most: int) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError("must be a string")
        text = str(value)
        if "\x00" in text:
            raise ValueError("must not contain NUL characters")
        if len(text) > most:
            raise ValueError(f"must be at most {most} characters")
        return text
    return read


def _color(value: Any) -> str:
    if not isinstance(value, str) or not COLOR.fullmatch(value):
        raise ValueError("must be a seven character hex colour such as #52D74C")
    return value


def _summarize_function(value: Any) -> str:
    if value not in SUMMARIZE_FUNCTIONS:
        raise ValueError(f"must be one of {', '.join(SUMMARIZE_FUNCTIONS)}")
    return value


# Librato's metric attributes (its "Metric Attributes" table), each with the
# one form it takes.
ATTRIBUTES: dict[str, Callable[[Any], Any]] = {
    "color": _color,
    "display_max": _number,
    "display_min": _number,
    "display_units_long": _text(255),
    "display_units_short": _text(64),
    "display_stacked": _boolean,
    "display_transform": _text(255),
    "summarize_function": _summarize_function,
    "aggregate": _boolean,
    "gap_detection": _boolean,
}


def attribute_changes(raw: Any, where: str = "attributes") -> dict[str, Any]:
    """The attributes an object sets (a None value unsets that attribute);
    unknown names and bad values are refused, all at once."""
    if not isinstance(raw, dict):
        raise errors.InvalidParams.one(where, "must be an object")
    problems = errors.ParamErrors()
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = str(name)
        if key in SERVER_ATTRIBUTES:
            continue
        rule = ATTRIBUTES.get(key)
        if rule is None:
            problems.add(f"{where}.{key[:64]}", f"is not a metric attribute (one of {', '.join(ATTRIBUTES)})")
            continue
        if value is None:
            out[key] = None
            continue
        try:
            out[key] = rule(value)
        except ValueError as exc:
            problems.add(f"{where}.{key}", str(exc))
    problems.raise_if_any()
    return out


def applied(attributes: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Stored attributes after changes: given values replace, None removes."""
    out = dict(attributes)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def checked_period(value: int, where: str = "period") -> int:
    if not PERIOD_RANGE[0] <= value <= PERIOD_RANGE[1]:
        raise errors.InvalidParams.one(where, f"must be a whole number of seconds from {PERIOD_RANGE[0]} "
                                              f"to {PERIOD_RANGE[1]}")
    return value


def checked_name(name: str) -> str:
    """A metric's name as stored (names are case insensitive), or NotFound:
    no metric can have any other name."""
    if not METRIC_NAME.fullmatch(name or ""):
        raise errors.NotFound("metric not found")
    return name.lower()


@dataclass(frozen=True)
class MetricUpdate:
    """What one PUT /v1/metrics/:name asks, validated."""

    name: str
    type: str | None = None
    display_name: str | None = None
    description: str | None = None
    period: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    cleared: tuple[str, ...] = ()

    def changes(self) -> dict[str, Any]:
        """Column values this update writes (attributes apart)."""
        out: dict[str, Any] = {key: None for key in self.cleared}
        for key in ("display_name", "description", "period"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


CLEARABLE = ("display_name", "description", "period")


def metric_update(name: str, type: str | None, display_name: str | None, description: str | None,
                  period: int | None, attributes: Any, cleared: list[str]) -> MetricUpdate:
    problems = errors.ParamErrors()
    stored_name = checked_name(name)
    if type is not None and type not in TYPES:
        problems.add("type", f"must be one of {', '.join(TYPES)}" + (
            " (composite metrics are not supported)" if type == "composite" else ""))
    if display_name is not None and not 1 <= len(display_name) <= MAX_DISPLAY_NAME:
        problems.add("display_name", f"must be 1-{MAX_DISPLAY_NAME} characters")
    for key, value in (("display_name", display_name), ("description", description)):
        if value is not None and "\x00" in value:
            problems.add(key, "must not contain NUL characters")
    if description is not None and len(description) > MAX_DESCRIPTION:
        problems.add("description", f"must be at most {MAX_DESCRIPTION} characters")
    if period is not None:
        try:
            checked_period(period)
        except errors.InvalidParams as exc:
            for k, v in exc.fields.items():
                for message in v:
                    problems.add(k, message)
    for key in cleared:
        if key not in CLEARABLE:
            problems.add(key, "cannot be null")
    changes: dict[str, Any] = {}
    if attributes is not None:
        try:
            changes = attribute_changes(attributes)
        except errors.InvalidParams as exc:
            for k, v in exc.fields.items():
                for message in v:
                    problems.add(k, message)
    problems.raise_if_any()
    return MetricUpdate(stored_name, type, display_name, description, period, changes,
                        tuple(k for k in cleared if k in CLEARABLE))
