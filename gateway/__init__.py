"""The REST gateway: the Librato-compatible public API, translated into gRPC calls."""
