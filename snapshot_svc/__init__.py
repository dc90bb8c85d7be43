"""The snapshot service: owns accounts, spaces, charts, measurements, snapshots
and jobs, answers gRPC, and queues render work on NATS JetStream."""
