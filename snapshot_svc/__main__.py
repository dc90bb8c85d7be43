"""python -m snapshot_svc — wires settings, logging and the server; nothing else."""

from chartsnap.service_main import run_service
from snapshot_svc.server import start_snapshot_service
from snapshot_svc.settings import SnapshotSettings

if __name__ == "__main__":
    run_service("snapshot_svc", SnapshotSettings.from_env, start_snapshot_service)
