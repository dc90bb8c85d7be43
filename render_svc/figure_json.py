"""A bokeh figure as the ``json_item`` BokehJS embeds.

Pure Python and independent of any browser, so a caller can serialise the
next job on another thread while the current one is being rendered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import bokeh
from bokeh.document import Document
from bokeh.embed import json_item
from bokeh.models import LayoutDOM


@dataclass(frozen=True)
class FigureItem:
    """One chart as BokehJS takes it: the whole ``json_item``, and, when its
    template was used before, the patch from any earlier item of the template."""

    json: str                 # the json_item string (render_svc.figure_templates)
    root_id: str              # the template's root model id: names the template within this process
    patch: str | None = None  # {"events": [ModelChanged...]} setting every per-render value; None: new template


def serialize(figure: LayoutDOM) -> str:
    """The figure as a BokehJS ``json_item`` string.

    A figure that belongs to no document gets the same item as ``json_item``
    (only the fresh document's own config ids differ) without bokeh's document
    validation, which only logs warnings about how the figure was built and
    costs ~5 of ~17 ms; a figure already in a document takes the stock path.
    """
    if figure.document is not None:
        return json.dumps(json_item(figure), separators=(",", ":"))
    return json.dumps(_item_in_new_document(figure), separators=(",", ":"))


def detached_item(figure: LayoutDOM) -> dict[str, Any]:
    """The item :func:`serialize` encodes for a figure of no document, as a
    dict; the figure is left in no document, so that later property sets on
    it emit no document change events."""
    item = _item_in_new_document(figure)
    figure.document.remove_root(figure)
    return item


def _item_in_new_document(figure: LayoutDOM) -> dict[str, Any]:
    document = Document()
    document.title = ""
    document.add_root(figure)
    return {"target_id": None, "root_id": figure.id, "doc": document.to_json(deferred=False),
            "version": bokeh.__version__}


def figure_size(figure: LayoutDOM) -> tuple[int, int]:
    """The fixed (width, height) in px a figure is drawn at."""
    width, height = getattr(figure, "width", None), getattr(figure, "height", None)
    if not width or not height:
        raise ValueError("the figure needs a fixed width and height to be rendered")
    return int(width), int(height)
