"""Human-friendly number formatting for big-number tiles."""

from __future__ import annotations

import math

# Decimal SI-style suffixes, the same ones dashboards (and Librato) show.
_SUFFIXES: tuple[tuple[float, str], ...] = (
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
)


def format_compact(value: float, significant: int = 3) -> str:
    """Format ``value`` with about ``significant`` significant digits.

    Examples: 1234 -> "1.23k", 12.3456 -> "12.3", 0.004213 -> "0.00421",
    -2500000 -> "-2.5M", 42.0 -> "42". Trailing zeros are dropped because a
    tile showing "42.0" reads as false precision.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"

    sign = "-" if value < 0 else ""
    magnitude = abs(value)

    suffix = ""
    for scale, name in _SUFFIXES:
        if magnitude >= scale:
            magnitude /= scale
            suffix = name
            break

    if magnitude < 1e-6:
        # Fixed notation would need more than ~9 characters; scientific is clearer.
        mantissa, exponent = f"{magnitude:.{significant - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{sign}{mantissa}e{int(exponent)}"

    digits_before_point = math.floor(math.log10(magnitude)) + 1
    decimals = max(0, significant - digits_before_point)
    text = f"{magnitude:.{decimals}f}"
    # Rounding can carry into a new digit (999.7 -> "1000"); re-apply the scale
    # once so we print "1k" instead of "1000".
    if suffix != "T" and float(text) >= 1000:
        return format_compact(float(sign + "1") * float(text) * _scale_of(suffix), significant)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{sign}{text}{suffix}"


def _scale_of(suffix: str) -> float:
    for scale, name in _SUFFIXES:
        if name == suffix:
            return scale
    return 1.0
