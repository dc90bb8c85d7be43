"""Take a snapshot of a chart over gRPC and print its image URL.

    CHARTSNAP_EMAIL=you@example.com CHARTSNAP_TOKEN=... .venv/bin/python docs/examples/grpc_client.py CHART_ID
"""
import base64
import os
import sys
import time

import grpc

from chartsnap.v1 import snapshots_pb2, snapshots_pb2_grpc

ADDRESS = os.environ.get("CHARTSNAP_SNAPSHOT_ADDR", "127.0.0.1:50051")  # where `make run` serves gRPC
DEADLINE_S = 10   # every call carries a deadline
WAIT_S = 120      # how long to wait for the image


def main(chart_id: int, chart_type: str = "line") -> None:
    # The REST API's Basic credentials, sent as gRPC metadata.
    login = f"{os.environ['CHARTSNAP_EMAIL']}:{os.environ['CHARTSNAP_TOKEN']}".encode()
    call = {"metadata": [("authorization", "Basic " + base64.b64encode(login).decode())], "timeout": DEADLINE_S}
    with grpc.insecure_channel(ADDRESS) as channel:
        snapshots = snapshots_pb2_grpc.SnapshotServiceStub(channel)
        subject = snapshots_pb2.SnapshotSubject(chart_id=chart_id, chart_type=chart_type)
        snapshot = snapshots.CreateSnapshot(snapshots_pb2.CreateSnapshotRequest(subject=subject, duration=3600), **call)
        give_up = time.monotonic() + WAIT_S
        job = snapshots.GetJob(snapshots_pb2.GetJobRequest(id=snapshot.job_id), **call)
        while job.state in ("queued", "working") and time.monotonic() < give_up:
            time.sleep(0.5)
            job = snapshots.GetJob(snapshots_pb2.GetJobRequest(id=snapshot.job_id), **call)
    if job.state != "complete":
        sys.exit(f"snapshot {snapshot.id}: job {job.state} {'; '.join(job.errors)}")
    print(job.image_url)


if __name__ == "__main__":
    try:
        main(int(sys.argv[1]), *sys.argv[2:3])
    except grpc.RpcError as exc:
        sys.exit(f"{exc.code().name}: {exc.details()}")
