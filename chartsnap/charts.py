"""What every service knows about a chart: the types the API accepts and the
image size a snapshot gets when it names none."""

from __future__ import annotations

CHART_TYPES = ("line", "stacked", "bignumber")

DEFAULT_WIDTH = 600
DEFAULT_HEIGHT = 416
DEFAULT_SIZE = (DEFAULT_WIDTH, DEFAULT_HEIGHT)

# The image sizes a snapshot may ask for, in pixels (inclusive).
SIZE_RANGE = (100, 4000)
