"""The `chartsnap` command: the public REST API for people and scripts, and the
administration commands (`user`, `db`) of the snapshot service, in one CLI.

A client, not a service: it speaks HTTP to the gateway like curl does."""
