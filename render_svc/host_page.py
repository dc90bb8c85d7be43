"""The page every warm browser loads once: BokehJS and an empty target div.

The page and the scripts run in it live as files of their own in warm_page/:
host.html (filled in here), viewport_listeners.js (inlined into it, runs
before BokehJS loads) and embed.js (inlined after BokehJS: the function
:func:`embed_expression` calls for every render).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

import bokeh

from render_svc.render_errors import BrowserStartError

TARGET_ELEMENT_ID = "target"

_PAGE_FILES = resources.files("render_svc") / "warm_page"


def embed_expression(item_json: str, width: int, height: int) -> str:
    """The JavaScript expression (for CDP Runtime.evaluate with awaitPromise)
    that embeds ``item_json`` into the target at ``width`` x ``height`` CSS px;
    its promise resolves with the target's box and the page's marks, or
    {"error": ...} when BokehJS rejected the document (see warm_page/embed.js)."""
    return (f"window.chartsnapEmbed({json.dumps(TARGET_ELEMENT_ID)}, {json.dumps(item_json)}, "
            f"{int(width)}, {int(height)})")


def patch_expression(root_id: str, patch_json: str) -> str:
    """Like :func:`embed_expression`, for a page that may still hold the
    document of ``root_id``'s template: applies ``patch_json`` to it
    (render_svc.figure_templates.FigureItem.patch); resolves like the embed, or
    with {"stale": ...} when the page holds another document."""
    return (f"window.chartsnapPatch({json.dumps(TARGET_ELEMENT_ID)}, {json.dumps(root_id)}, "
            f"{json.dumps(patch_json)})")


def bokeh_js_path() -> Path:
    """bokeh.min.js shipped with the installed bokeh package (no CDN)."""
    path = Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.min.js"
    if not path.is_file():
        raise BrowserStartError(f"BokehJS not found at {path}")
    return path


def host_page_html(width: int, height: int) -> str:
    page = Template((_PAGE_FILES / "host.html").read_text(encoding="utf-8"))
    return page.substitute(
        target=TARGET_ELEMENT_ID, width=width, height=height, bokeh_js_uri=bokeh_js_path().as_uri(),
        viewport_listeners=(_PAGE_FILES / "viewport_listeners.js").read_text(encoding="utf-8"),
        embed=(_PAGE_FILES / "embed.js").read_text(encoding="utf-8"))


class HostPage:
    """The host page written to its own temp dir; shared read-only by a pool's browsers."""

    def __init__(self, viewport: tuple[int, int]) -> None:
        self.viewport = viewport
        self._dir = tempfile.mkdtemp(prefix="chartsnap-host-")
        self.path = Path(self._dir) / "host.html"
        self.path.write_text(host_page_html(*viewport), encoding="utf-8")

    def remove(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
