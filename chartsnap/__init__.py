"""Code several chartsnap services import: the settings reader, logging, domain
errors and their gRPC status table, bounds and budgets, chart facts, NATS
stream and message-id names, the image store and the generated stubs
(chartsnap.v1). Nothing here imports a service package."""
