"""How long every list in the API may be, and how much of a field-error reply
is carried. One home: the gateway refuses an over-long list before building a
request, and the snapshot service refuses it again for gRPC callers that do
not pass through the gateway; both read these numbers. Past a bound the
request is a 400 params error naming the field, never silently cut."""

from __future__ import annotations

# -- lists in requests --------------------------------------------------------
MAX_TAG_VALUES = 100        # values (patterns) of one tag filter
MAX_TAG_FILTERS = 50        # tag filters of one stream or of a snapshot's subject.chart.tags
MAX_STREAMS = 50            # streams per chart
MAX_THRESHOLDS = 10         # thresholds per chart
MAX_SNAPSHOT_SERVICES = 20  # services one snapshot is delivered to
MAX_SNAPSHOT_ANNOTATIONS = 50  # annotation streams one snapshot's `annotations` names
MAX_BATCH = 10_000          # samples per POST /v1/measurements or /v1/metrics (gauges, counters each)
MAX_MEASUREMENT_TAGS = 50   # tags of one sample, or of a batch's top-level tags
MAX_QUERY_TAGS = 50         # tags[k]=pattern filters of one measurements query
MAX_SETTINGS = 50           # settings keys of one service (notification target)

# -- field errors in replies ----------------------------------------------------
# A reply names at most this many fields (the rest summed up under MORE_FIELD),
# each with at most MAX_FIELD_MESSAGES messages of at most MAX_MESSAGE_CHARS
# characters. That keeps the gRPC rich status (google.rpc.BadRequest in the
# `grpc-status-details-bin` trailer) far below gRPC's 8 KB metadata limit.
MAX_ERROR_FIELDS = 20
MAX_FIELD_MESSAGES = 3
MAX_FIELD_NAME_CHARS = 100
MAX_MESSAGE_CHARS = 200
MORE_FIELD = "more"
# Byte budget of the serialised google.rpc.BadRequest: even 20 fields of
# 4-byte characters stay under it after the bounds above are cut to it.
MAX_RICH_STATUS_BYTES = 3072
