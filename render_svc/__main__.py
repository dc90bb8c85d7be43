"""python -m render_svc — wires settings, logging and the service; nothing else."""

import os

from chartsnap.service_main import run_service
from render_svc.service import start_render_service
from render_svc.settings import RenderSettings

if __name__ == "__main__":
    os.environ.setdefault("BOKEH_IN_DOCKER", "1")  # bokeh's own Chromium flags for root/containers
    run_service("render_svc", RenderSettings.from_env, start_render_service)
