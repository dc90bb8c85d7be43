"""The snapshot service's gRPC services, as the gateway calls them: one stub
each, all over one channel."""

from __future__ import annotations

import grpc

from chartsnap.v1.accounts_pb2_grpc import AccountServiceStub
from chartsnap.v1.annotations_pb2_grpc import AnnotationServiceStub
from chartsnap.v1.destinations_pb2_grpc import DestinationServiceStub
from chartsnap.v1.measurements_pb2_grpc import MeasurementServiceStub
from chartsnap.v1.snapshots_pb2_grpc import SnapshotServiceStub
from chartsnap.v1.spaces_pb2_grpc import SpaceServiceStub


class SnapshotStubs:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.spaces = SpaceServiceStub(channel)
        self.measurements = MeasurementServiceStub(channel)
        self.snapshots = SnapshotServiceStub(channel)
        self.accounts = AccountServiceStub(channel)
        self.destinations = DestinationServiceStub(channel)
        self.annotations = AnnotationServiceStub(channel)
