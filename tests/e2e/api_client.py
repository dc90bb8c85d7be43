"""A tiny HTTP client for the end-to-end tier: the gateway, as curl uses it."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np
import requests
from PIL import Image

from chartsnap.job_states import TERMINAL


@dataclass
class Api:
    base: str
    email: str
    token: str

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        kwargs.setdefault("auth", (self.email, self.token))
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.request("DELETE", path, **kwargs)

    def wait_for_job(self, job_href: str, timeout: float = 60.0) -> dict:
        """Poll the job until it is terminal; fail with the last state seen."""
        deadline = time.monotonic() + timeout
        seen: list[tuple[str, float]] = []
        while time.monotonic() < deadline:
            job = self.get(job_href).json()
            if not seen or seen[-1] != (job["state"], job.get("progress", 0)):
                seen.append((job["state"], job.get("progress", 0)))
            if job["state"] in TERMINAL:
                job["_history"] = seen
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_href} not terminal after {timeout}s; states seen: {seen}")

    def make_chart(self, name: str, chart_type: str, streams: list[dict], **extra) -> tuple[int, int]:  # noqa: ANN003
        space = self.post("/v1/spaces", json={"name": f"{name} space {time.time_ns()}"})
        assert space.status_code == 201, space.text
        space_id = space.json()["id"]
        chart = self.post(f"/v1/spaces/{space_id}/charts",
                          json={"name": name, "type": chart_type, "streams": streams, **extra})
        assert chart.status_code == 201, chart.text
        return space_id, chart.json()["id"]


def fetch_png(url: str) -> Image.Image:
    """Download without credentials, as anyone holding the link would."""
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    assert response.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content)).convert("RGB")


def pixels(image: Image.Image) -> np.ndarray:
    """(N, 3) array of RGB pixels."""
    return np.asarray(image.convert("RGB"), dtype=np.int16).reshape(-1, 3)


def distinct_colors(image: Image.Image) -> int:
    return len(np.unique(pixels(image), axis=0))


def color_count(image: Image.Image, hex_color: str, tolerance: int = 12) -> int:
    target = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(pixels(image) - target) <= tolerance).all(axis=1).sum())


def has_color(image: Image.Image, hex_color: str, tolerance: int = 12, min_pixels: int = 30) -> bool:
    return color_count(image, hex_color, tolerance) >= min_pixels
