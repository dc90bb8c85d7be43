"""The gateway's OpenAPI 3 document, served at GET /openapi.json (no auth).

Written by hand, here only; tests/e2e/test_openapi_schemathesis.py runs
schemathesis against the live gateway with it, and tests/unit/test_openapi.py
checks that it names every route build_app registers. List bounds come from
chartsnap.bounds, the numbers the services enforce; chart types from
chartsnap.charts; the image size range from the gateway's own check."""

from __future__ import annotations

import json
from typing import Any

from chartsnap import bounds, image_keys, snapshot_options
from chartsnap.charts import CHART_TYPES, SIZE_RANGE
from chartsnap.job_states import JOB_STATES

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_length: int | None = None) -> dict:
    return {"type": "string", **({"maxLength": max_length} if max_length else {})}


def _list(items: dict, most: int) -> dict:
    return {"type": "array", "items": items, "maxItems": most}


NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
NULLABLE_NUMBER = {"type": "number", "nullable": True}
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
EPOCH_OR_ISO = {"oneOf": [{"type": "integer"}, {"type": "string"}],
                "description": "Unix epoch seconds or an ISO 8601 time"}

TAG_FILTER = {
    "type": "object",
    "properties": {
        "name": _text(64),
        "values": _list(_text(255), bounds.MAX_TAG_VALUES),
        "grouped": {"type": "boolean"},
        "dynamic": {"type": "boolean"},
    },
}

STREAM_FIELDS = {
    "metric": _text(255), "source": _text(255), "tags": _list(ref("TagFilter"), bounds.MAX_TAG_FILTERS),
    "group_function": {"type": "string", "enum": ["average", "sum", "min", "max", "breakout"]},
    "summary_function": {"type": "string", "enum": ["average", "sum", "min", "max", "count"]},
    "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
    "name": _text(255), "units_short": _text(255), "units_long": _text(255),
    "min": NUMBER, "max": NUMBER, "period": INTEGER,
    "transform_function": {**_text(255), "description": "Librato's display transform: numbers, x (the value), "
                           "p (the seconds a drawn point covers), + - * /, unary minus and parentheses"},
    "downsample_function": {"type": "string", "enum": ["average", "sum", "min", "max", "count"]},
}

THRESHOLD = {"type": "object", "properties": {
    "operator": {"type": "string", "enum": [">", "<", "="]}, "value": NUMBER,
    "type": {"type": "string", "enum": ["red", "yellow"]}}}

CHART_TYPE = {"type": "string", "enum": list(CHART_TYPES)}
IMAGE_SIZE = {"type": "integer", "minimum": SIZE_RANGE[0], "maximum": SIZE_RANGE[1]}

CHART_FIELDS = {
    "name": _text(255), "type": CHART_TYPE,
    "streams": _list(ref("StreamInput"), bounds.MAX_STREAMS),
    "thresholds": _list(ref("Threshold"), bounds.MAX_THRESHOLDS),
    "min": NUMBER, "max": NUMBER, "label": _text(255), "related_space": ID, "use_last_value": {"type": "boolean"},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["errors"],
        "description": "The contract's error shape: exactly one of params, request, system. A params reply "
                       f"names at most {bounds.MAX_ERROR_FIELDS} fields; the rest are counted under "
                       f"`{bounds.MORE_FIELD}`.",
        "properties": {"errors": {"type": "object", "minProperties": 1, "properties": {
            "params": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "request": {"type": "array", "items": {"type": "string"}},
            "system": {"type": "array", "items": {"type": "string"}},
        }}},
    },
    "Query": {"type": "object", "required": ["found", "length", "offset", "total"],
              "properties": {k: INTEGER for k in ("found", "length", "offset", "total")}},
    "TagFilter": TAG_FILTER,
    "StreamInput": {"type": "object", "properties": STREAM_FIELDS},
    "Stream": {"type": "object", "required": ["id", "metric"],
               "properties": {"id": INTEGER, **STREAM_FIELDS,
                              "tags": {"type": "array", "items": ref("TagFilter")}}},
    "Threshold": THRESHOLD,
    "ChartInput": {"type": "object", "properties": CHART_FIELDS},
    "Chart": {"type": "object", "required": ["id", "name", "type", "streams", "thresholds"], "properties": {
        "id": INTEGER, "name": {"type": "string"}, "type": {"type": "string"},
        "streams": {"type": "array", "items": ref("Stream")},
        "thresholds": {"type": "array", "items": ref("Threshold")},
        "min": NULLABLE_NUMBER, "max": NULLABLE_NUMBER, "label": {"type": "string", "nullable": True},
        "related_space": {"type": "integer", "nullable": True}, "use_last_value": {"type": "boolean"}}},
    "SpaceInput": {"type": "object", "required": ["name"], "properties": {"name": _text(255)}},
    "SpaceUpdate": {"type": "object", "properties": {"name": _text(255)}},
    "Space": {"type": "object", "required": ["id", "name"], "properties": {
        "id": INTEGER, "name": {"type": "string"},
        "charts": {"type": "array", "items": {"type": "object", "properties": {"id": INTEGER}}}}},
    "SpaceList": {"type": "object", "required": ["query", "spaces"],
                  "properties": {"query": ref("Query"), "spaces": {"type": "array", "items": ref("Space")}}},
    "SnapshotInput": {"type": "object", "required": ["subject"], "properties": {
        "subject": {"type": "object", "required": ["chart"], "properties": {"chart": {
            "type": "object", "required": ["id", "type"], "properties": {
                "id": ID, "type": CHART_TYPE,
                "tags": _list(ref("TagFilter"), bounds.MAX_TAG_FILTERS), "source": _text(255)}}}},
        "duration": {"type": "integer", "minimum": 60, "maximum": 31_622_400},
        "end_time": EPOCH_OR_ISO,
        "width": IMAGE_SIZE,
        "height": IMAGE_SIZE,
        "services": _list(_text(64), bounds.MAX_SNAPSHOT_SERVICES),
        "message": _text(1000)}},
    "Snapshot": {"type": "object", "required": ["id", "href", "job_href", "image_href", "subject"], "properties": {
        "id": INTEGER, "href": {"type": "string"}, "job_href": {"type": "string"},
        "image_href": {"type": "string", "nullable": True}, "duration": INTEGER,
        "share_href": {"type": "string", "nullable": True},
        "end_time": {"type": "string"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"},
        "subject": {"type": "object", "properties": {"chart": {"type": "object", "properties": {
            "id": INTEGER, "sources": {"type": "array", "items": {"type": "string"}}, "type": {"type": "string"}}}}}}},
    "SnapshotList": {"type": "object", "required": ["query", "snapshots"],
                     "properties": {"query": ref("Query"), "snapshots": {"type": "array", "items": ref("Snapshot")}}},
    "Job": {"type": "object", "required": ["id", "state"], "properties": {
        "id": INTEGER,
        "state": {"type": "string", "enum": list(JOB_STATES)},
        "progress": {"type": "number", "minimum": 0, "maximum": 100},
        "output": {"type": "object", "properties": {
            "image_href": {"type": "string", "nullable": True},
            "services": {"type": "array", "items": {"type": "object", "properties": {
                "service_id": {"type": "string"}, "type": {"type": "string"}, "state": {"type": "string"},
                "attempts": INTEGER, "error": {"type": "string", "nullable": True}}}}}},
        "errors": {"type": "object"}}},
    "MeasurementInput": {"type": "object", "required": ["name"], "properties": {
        "name": _text(255), "value": NUMBER, "count": INTEGER, "sum": NUMBER, "min": NUMBER, "max": NUMBER,
        "last": NUMBER, "time": EPOCH_OR_ISO, "period": INTEGER,
        "stddev": NUMBER, "stddev_m2": {**NUMBER, "description": "Welford's M2: the sum of squared deviations"},
        "attributes": ref("MetricAttributes"),
        "tags": {"type": "object", "additionalProperties": {"type": "string"},
                 "maxProperties": bounds.MAX_MEASUREMENT_TAGS,
                 "description": "Replace the batch's tags when not empty (never merged with them)"}}},
    "MeasurementsInput": {"type": "object", "required": ["measurements"], "properties": {
        "tags": {"type": "object", "additionalProperties": {"type": "string"},
                 "maxProperties": bounds.MAX_MEASUREMENT_TAGS},
        "time": EPOCH_OR_ISO, "period": INTEGER,
        "measurements": _list(ref("MeasurementInput"), bounds.MAX_BATCH)}},
    "LegacyMeasurementInput": {"type": "object", "required": ["name"], "properties": {
        "name": _text(255), "value": NUMBER, "count": INTEGER, "sum": NUMBER, "min": NUMBER, "max": NUMBER,
        "sum_squares": NUMBER, "measure_time": EPOCH_OR_ISO, "source": _text(255), "period": INTEGER,
        "attributes": ref("MetricAttributes")}},
    "LegacyMetricsInput": {"type": "object", "properties": {
        "gauges": _list(ref("LegacyMeasurementInput"), bounds.MAX_BATCH),
        "counters": _list(ref("LegacyMeasurementInput"), bounds.MAX_BATCH),
        "source": _text(255), "measure_time": EPOCH_OR_ISO}},
    "SubmitSummary": {"type": "object", "required": ["measurements"], "properties": {
        "measurements": {"type": "object", "properties": {"summary": {"type": "object", "properties": {
            k: INTEGER for k in ("total", "accepted", "failed", "filtered")}}}},
        "errors": {"type": "object"}}},
    "Series": {"type": "object", "required": ["name", "series"], "properties": {
        "name": {"type": "string"}, "resolution": INTEGER, "links": {"type": "array"},
        "series": {"type": "array", "items": {"type": "object", "properties": {
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "measurements": {"type": "array", "items": {"type": "object", "properties": {
                "time": INTEGER,
                "value": {"type": "number", "nullable": True,
                          "description": "null when the aggregate overflowed the float range (JSON has no "
                                         "Infinity)"}}}}}}}}},
    "ServiceInput": {"type": "object", "required": ["title", "type"], "properties": {
        "title": _text(255), "type": {"type": "string", "enum": ["mail", "slack", "hipchat", "flowdock", "campfire"]},
        "settings": {"type": "object", "additionalProperties": {"type": "string"},
                     "maxProperties": bounds.MAX_SETTINGS}}},
    "ServiceUpdate": {"type": "object", "properties": {
        "title": _text(255), "type": {"type": "string", "enum": ["mail", "slack", "hipchat", "flowdock", "campfire"]},
        "settings": {"type": "object", "additionalProperties": {"type": "string"},
                     "maxProperties": bounds.MAX_SETTINGS}}},
    "Service": {"type": "object", "required": ["id", "title", "type", "settings"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "type": {"type": "string"},
        "settings": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "ServiceList": {"type": "object", "required": ["query", "services"],
                    "properties": {"query": ref("Query"), "services": {"type": "array", "items": ref("Service")}}},
}

RATE_HEADERS = {
    "X-Librato-RateLimit-Limit": {"description": "Requests per minute this account may make",
                                  "schema": INTEGER},
    "X-Librato-RateLimit-Remaining": {"description": "Requests left now", "schema": INTEGER},
    "X-Librato-RateLimit-Reset": {"description": "Epoch seconds at which the allowance is whole again",
                                  "schema": INTEGER},
}


def _ok(status: str, description: str, schema: dict | None = None, location: bool = False) -> dict:
    response: dict = {"description": description}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    headers: dict = {}
    if location:
        headers["Location"] = {"schema": {"type": "string"}}
    response["headers"] = headers
    return {status: response}


def _ok_as(status: str, description: str, *content_types: str) -> dict:
    """A success that is not JSON: the media types it may come as."""
    return {status: {"description": description, "content": {t: {} for t in content_types}, "headers": {}}}


ERRORS = {"default": {"description": "An error in the contract's shape (400, 401, 404, 405, 413, 415, 422, "
                                     "429 with Retry-After, 503 with Retry-After)",
                      "content": {JSON: {"schema": ref("Error")}}}}


def _body(schema_name: str) -> dict:
    return {"required": True, "content": {JSON: {"schema": ref(schema_name)}, FORM: {"schema": ref(schema_name)}}}


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


PAGE = [{"name": k, "in": "query", "required": False, "schema": s} for k, s in (
    ("offset", {"type": "integer", "minimum": 0}), ("length", {"type": "integer", "minimum": 1, "maximum": 100}),
    ("orderby", {"type": "string"}), ("sort", {"type": "string", "enum": ["asc", "desc"]}))]


def _op(summary: str, responses: dict, *, body: str | None = None, params: list | None = None,
        auth: bool = True) -> dict:
    if auth:  # Librato's rate-limit headers come with every authenticated answer
        for response in responses.values():
            response["headers"].update({name: {"$ref": f"#/components/headers/{name}"} for name in RATE_HEADERS})
    op: dict = {"summary": summary, "responses": {**responses, **ERRORS}}
    if body:
        op["requestBody"] = _body(body)
    if params:
        op["parameters"] = params
    if not auth:
        op["security"] = []
    return op


SPACE_ID, CHART_ID, ANY_ID = _path_id("id"), _path_id("chart_id"), _path_id("id")

PATHS = {
    "/healthz": {"get": _op("Liveness", _ok("200", "ok", {"type": "object"}), auth=False)},
    "/openapi.json": {"get": _op("This document", _ok("200", "OpenAPI 3 document", {"type": "object"}), auth=False)},
    "/docs": {"get": _op("Interactive docs of this document (Swagger UI, served by the gateway)",
                         _ok_as("200", "The docs page", "text/html"), auth=False)},
    "/docs/assets/{name}": {"get": _op(
        "A file of the docs page (its name carries a digest of its bytes: cached for a year)",
        _ok_as("200", "The file", "text/css", "text/javascript", "image/png"), auth=False,
        params=[{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 255}}])},
    "/s/{token}": {"get": _op(
        "A snapshot's public share page (HTML with OpenGraph and Twitter-card tags; the token is the secret of its "
        "image key)",
        {**_ok_as("200", "The page", "text/html"),
         **_ok_as("404", "No snapshot has this token, or it is no token (an HTML page)", "text/html"),
         **_ok_as("429", "Too many unknown tokens from this address (an HTML page, Retry-After)", "text/html"),
         **_ok_as("503", "The snapshot service did not answer (an HTML page, Retry-After)", "text/html")},
        auth=False, params=[{"name": "token", "in": "path", "required": True,
                             "schema": {"type": "string", "maxLength": image_keys.MAX_SHARE_TOKEN,
                                        "pattern": f"^{image_keys.SHARE_TOKEN.pattern}$"}}])},
    "/v1/snapshots": {
        "post": _op("Take a snapshot", _ok("202", "Accepted: the snapshot, its job queued", ref("Snapshot"), True),
                    body="SnapshotInput"),
        "get": _op("List snapshots", _ok("200", "A page of snapshots", ref("SnapshotList")), params=PAGE)},
    "/v1/snapshots/{id}": {"get": _op("A snapshot", _ok("200", "The snapshot", ref("Snapshot")), params=[ANY_ID])},
    "/v1/jobs/{id}": {"get": _op("A job", _ok("200", "The job", ref("Job")), params=[ANY_ID])},
    "/v1/spaces": {
        "post": _op("Create a space", _ok("201", "Created", ref("Space"), True), body="SpaceInput"),
        "get": _op("List spaces", _ok("200", "A page of spaces", ref("SpaceList")),
                   params=PAGE + [{"name": "name", "in": "query", "schema": {"type": "string"}}])},
    "/v1/spaces/{id}": {
        "get": _op("A space", _ok("200", "The space", ref("Space")), params=[SPACE_ID]),
        "put": _op("Rename a space", _ok("204", "Updated"), body="SpaceUpdate", params=[SPACE_ID]),
        "delete": _op("Delete a space", _ok("204", "Deleted"), params=[SPACE_ID])},
    "/v1/spaces/{id}/charts": {
        "post": _op("Create a chart", _ok("201", "Created", ref("Chart"), True), body="ChartInput", params=[SPACE_ID]),
        "get": _op("The space's charts (a bare array)",
                   _ok("200", "Charts", {"type": "array", "items": ref("Chart")}), params=[SPACE_ID])},
    "/v1/spaces/{id}/charts/{chart_id}": {
        "get": _op("A chart", _ok("200", "The chart", ref("Chart")), params=[SPACE_ID, CHART_ID]),
        "put": _op("Update a chart", _ok("200", "The chart", ref("Chart")), body="ChartInput",
                   params=[SPACE_ID, CHART_ID]),
        "delete": _op("Delete a chart", _ok("204", "Deleted"), params=[SPACE_ID, CHART_ID])},
    "/v1/measurements": {
        "post": _op("Submit samples", _ok("202", "Accepted (a partly bad batch names the bad samples)",
                                          ref("SubmitSummary")), body="MeasurementsInput")},
    "/v1/measurements/{name}": {
        "get": _op("A metric's series over a window", _ok("200", "The series", ref("Series")), params=[
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 255}},
            {"name": "start_time", "in": "query", "schema": {"type": "integer"}},
            {"name": "end_time", "in": "query", "schema": {"type": "integer"}},
            {"name": "duration", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "resolution", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            {"name": "group_by", "in": "query", "schema": {"type": "string"}},
            {"name": "group_by_function", "in": "query",
             "schema": {"type": "string", "enum": ["sum", "min", "max", "mean"]}},
            {"name": "summary_function", "in": "query",
             "schema": {"type": "string", "enum": ["average", "sum", "min", "max", "count"]}}])},
    "/v1/metrics": {
        "post": _op("Submit legacy gauges and counters", _ok("202", "Accepted", ref("SubmitSummary")),
                    body="LegacyMetricsInput")},
    "/v1/services": {
        "post": _op("Create a notification target", _ok("201", "Created", ref("Service"), True), body="ServiceInput"),
        "get": _op("List notification targets", _ok("200", "A page of services", ref("ServiceList")), params=PAGE)},
    "/v1/services/{id}": {
        "get": _op("A notification target", _ok("200", "The service", ref("Service")), params=[ANY_ID]),
        "put": _op("Update a notification target", _ok("204", "Updated"), body="ServiceUpdate", params=[ANY_ID]),
        "delete": _op("Delete a notification target", _ok("204", "Deleted"), params=[ANY_ID])},
}

# -- annotations (gateway/annotation_views.py; the rules are snapshot_svc.annotation_rules') --
ANNOTATION_NAME = {"name": "name", "in": "path", "required": True,
                   "schema": {"type": "string", "maxLength": 255, "pattern": "^[A-Za-z0-9.:_-]+$"},
                   "description": "The stream's name: metric name rules, case insensitive"}
ANNOTATION_LINK = {"type": "object", "required": ["rel", "href"], "properties": {
    "rel": {**_text(255), "description": "Unique within the event"},
    "href": {**_text(2000), "description": "An absolute http(s) URL without credentials"},
    "label": _text(255)}}
ANNOTATION_FIELDS = {
    "title": _text(255), "description": _text(10_000), "source": _text(255),
    "start_time": EPOCH_OR_ISO, "end_time": EPOCH_OR_ISO,
    "links": {"type": "array", "items": ref("AnnotationLinkInput"),
              "description": "At most 20 links, each rel once"}}
ANNOTATION_EVENT = {"type": "object", "required": ["id", "title", "start_time", "end_time", "links"], "properties": {
    "id": INTEGER, "title": {"type": "string"}, "description": {"type": "string", "nullable": True},
    "source": {"type": "string", "nullable": True}, "start_time": INTEGER,
    "end_time": {"type": "integer", "nullable": True},
    "links": {"type": "array", "items": ref("AnnotationLink")}}}
ANNOTATION_STREAM_FIELDS = {"name": {"type": "string"}, "display_name": {"type": "string", "nullable": True},
                            "description": {"type": "string", "nullable": True}}
SCHEMAS.update({
    "AnnotationLinkInput": ANNOTATION_LINK,
    "AnnotationLink": {"type": "object", "required": ["rel", "href"], "properties": {
        "rel": {"type": "string"}, "href": {"type": "string"}, "label": {"type": "string", "nullable": True}}},
    "AnnotationInput": {"type": "object", "required": ["title"], "properties": ANNOTATION_FIELDS},
    "AnnotationUpdate": {"type": "object", "properties": {
        **ANNOTATION_FIELDS, "end_time": {**EPOCH_OR_ISO, "nullable": True,
                                          "description": "null: the event becomes a point in time"}}},
    "Annotation": ANNOTATION_EVENT,
    "AnnotationStreamUpdate": {"type": "object", "properties": {
        "display_name": _text(255), "description": _text(10_000)}},
    "AnnotationStreamList": {"type": "object", "required": ["query", "annotations"], "properties": {
        "query": ref("Query"), "annotations": {"type": "array", "items": {
            "type": "object", "required": ["name"], "properties": ANNOTATION_STREAM_FIELDS}}}},
    "AnnotationStream": {"type": "object", "required": ["name", "events", "query"], "properties": {
        **ANNOTATION_STREAM_FIELDS,
        "events": {"type": "array", "maxItems": 1, "description": "One object: each source (`unassigned` for "
                   "events without one) to its events, earliest first",
                   "items": {"type": "object", "additionalProperties": {"type": "array",
                                                                        "items": ref("Annotation")}}},
        "query": ref("Query")}},
})
ANNOTATION_ID = _path_id("id")
PATHS.update({
    "/v1/annotations": {"get": _op("List annotation streams", _ok("200", "A page of streams",
                                                                   ref("AnnotationStreamList")),
                                   params=PAGE + [{"name": "name", "in": "query", "schema": {"type": "string"}}])},
    "/v1/annotations/{name}": {
        "post": _op("Create an annotation event (the stream is made on first use)",
                    _ok("201", "Created", ref("Annotation"), True), body="AnnotationInput", params=[ANNOTATION_NAME]),
        "get": _op("An annotation stream with a page of its events", _ok("200", "The stream", ref("AnnotationStream")),
                   params=[ANNOTATION_NAME, *PAGE,
                           {"name": "start_time", "in": "query", "schema": EPOCH_OR_ISO},
                           {"name": "end_time", "in": "query", "schema": EPOCH_OR_ISO},
                           {"name": "sources[]", "in": "query", "schema": {"type": "array", "maxItems": 50,
                                                                          "items": _text(255)},
                            "style": "form", "explode": True}]),
        "put": _op("Update a stream's display_name and description", _ok("204", "Updated"),
                   body="AnnotationStreamUpdate", params=[ANNOTATION_NAME]),
        "delete": _op("Delete a stream and its events", _ok("204", "Deleted"), params=[ANNOTATION_NAME])},
    "/v1/annotations/{name}/{id}": {
        "get": _op("An annotation event", _ok("200", "The event", ref("Annotation")),
                   params=[ANNOTATION_NAME, ANNOTATION_ID]),
        "put": _op("Update an annotation event", _ok("204", "Updated"), body="AnnotationUpdate",
                   params=[ANNOTATION_NAME, ANNOTATION_ID]),
        "delete": _op("Delete an annotation event", _ok("204", "Deleted"), params=[ANNOTATION_NAME, ANNOTATION_ID])},
    "/v1/annotations/{name}/{id}/links": {
        "post": _op("Add a link to an annotation event", _ok("201", "Created", ref("AnnotationLink"), True),
                    body="AnnotationLinkInput", params=[ANNOTATION_NAME, ANNOTATION_ID])},
    "/v1/annotations/{name}/{id}/links/{rel}": {
        "delete": _op("Delete a link from an annotation event", _ok("204", "Deleted"), params=[
            ANNOTATION_NAME, ANNOTATION_ID,
            {"name": "rel", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 255}}])},
})

# -- metric metadata (gateway/metric_views.py; the rules are snapshot_svc.metric_rules') --
METRIC_NAME = {"name": "name", "in": "path", "required": True,
               "schema": {"type": "string", "maxLength": 255, "pattern": "^[A-Za-z0-9.:_-]+$"},
               "description": "The metric's name, case insensitive"}
METRIC_ATTRIBUTES = {
    "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$", "nullable": True},
    "display_max": NULLABLE_NUMBER, "display_min": NULLABLE_NUMBER,
    "display_units_long": {**_text(255), "nullable": True}, "display_units_short": {**_text(64), "nullable": True},
    "display_stacked": {"type": "boolean", "nullable": True}, "display_transform": {**_text(255), "nullable": True},
    "summarize_function": {"type": "string", "enum": ["average", "sum", "count", "min", "max"], "nullable": True},
    "aggregate": {"type": "boolean", "nullable": True}, "gap_detection": {"type": "boolean", "nullable": True},
    "created_by_ua": {"type": "string", "description": "Accepted and ignored"},
}
METRIC = {"type": "object", "required": ["name", "type", "attributes"], "properties": {
    "name": {"type": "string"}, "type": {"type": "string", "enum": ["gauge", "counter"]},
    "display_name": {"type": "string", "nullable": True}, "description": {"type": "string", "nullable": True},
    "period": {"type": "integer", "nullable": True}, "attributes": {"type": "object"},
    "resolution": INTEGER,
    "measurements": {"type": "object", "description": "With a window: the legacy series' points, by source",
                     "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
                         "measure_time": INTEGER, "value": {"type": "number", "nullable": True}}}}}}}
SCHEMAS.update({
    "MetricAttributes": {"type": "object", "properties": METRIC_ATTRIBUTES, "additionalProperties": False,
                         "description": "Librato's metric attributes; null unsets one"},
    "Metric": METRIC,
    "MetricList": {"type": "object", "required": ["query", "metrics"],
                   "properties": {"query": ref("Query"), "metrics": {"type": "array", "items": ref("Metric")}}},
    "MetricUpdate": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["gauge", "counter"], "description": "Required to create"},
        "display_name": {**_text(255), "nullable": True}, "description": {**_text(1000), "nullable": True},
        "period": {"type": "integer", "minimum": 1, "maximum": 31_622_400, "nullable": True},
        "attributes": ref("MetricAttributes")}},
})
PATHS["/v1/metrics"]["get"] = _op(
    "List metrics (their metadata)", _ok("200", "A page of metrics", ref("MetricList")),
    params=PAGE + [{"name": "name", "in": "query", "schema": _text(255),
                    "description": "Only metrics whose name contains it"}])
PATHS["/v1/metrics/{name}"] = {
    "get": _op("A metric's metadata; with a window (start_time, duration or count), its legacy measurements too",
               _ok("200", "The metric", ref("Metric")), params=[
                   METRIC_NAME,
                   {"name": "start_time", "in": "query", "schema": EPOCH_OR_ISO},
                   {"name": "end_time", "in": "query", "schema": EPOCH_OR_ISO},
                   {"name": "duration", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                   {"name": "count", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100_000}},
                   {"name": "resolution", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                   {"name": "source", "in": "query", "schema": _text(255)}]),
    "put": _op("Update a metric's metadata, or create it (with type)",
               {**_ok("204", "Updated"), **_ok("201", "Created", ref("Metric"), True)},
               body="MetricUpdate", params=[METRIC_NAME])}

# -- snapshot options, summary and data (gateway/snapshot_data_views.py; the rules are chartsnap.snapshot_options') --
SCHEMAS["SnapshotInput"]["properties"].update({
    "timezone": {**_text(snapshot_options.MAX_TIMEZONE_CHARS),
                 "description": "IANA time zone of the axis and caption (default UTC), e.g. America/New_York"},
    "scale": {"type": "number", "minimum": snapshot_options.SCALE_RANGE[0],
              "maximum": snapshot_options.SCALE_RANGE[1],
              "description": "Device pixels per CSS pixel (default 1): 2 for retina screens"},
    "theme": {"type": "string", "enum": list(snapshot_options.THEMES)},
    "annotations": {**_list(_text(255), bounds.MAX_SNAPSHOT_ANNOTATIONS),
                    "description": 'Annotation streams whose events are drawn (line and stacked charts), or ["*"]'},
})
SCHEMAS["Snapshot"]["properties"].update({
    "timezone": {"type": "string"}, "scale": NUMBER, "theme": {"type": "string"},
    "annotations": {"type": "array", "items": {"type": "string"}},
    "summary": {"type": "string", "nullable": True, "description": "One line about the data (null until it is read)"},
    "data_href": {"type": "string", "description": "The data the image is drawn from (GET .../data)"},
})
SCHEMAS["SnapshotData"] = {
    "type": "object", "required": ["id", "series", "resolution", "start_time", "end_time"], "properties": {
        "id": INTEGER, "href": {"type": "string"}, "snapshot_href": {"type": "string"},
        "chart_type": {"type": "string"}, "start_time": {"type": "string"}, "end_time": {"type": "string"},
        "duration": INTEGER, "resolution": {**INTEGER, "description": "Seconds per bucket"},
        "timezone": {"type": "string"}, "units_short": {"type": "string", "nullable": True},
        "taken_at": {"type": "string"}, "summary": {"type": "string", "nullable": True},
        "png_sha256": {"type": "string", "nullable": True, "description": "Hex SHA-256 of the PNG, once stored"},
        "big_value": NULLABLE_NUMBER,
        "series": {"type": "array", "items": {"type": "object", "properties": {
            "label": {"type": "string"}, "metric": {"type": "string"},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "measurements": {"type": "array", "items": {"type": "object", "properties": {
                "time": INTEGER, "value": NULLABLE_NUMBER}}}}}}}}
_DATA_OK = _ok("200", "The frozen data: JSON, or CSV (time, series, metric, tags, value) with Accept: text/csv",
               ref("SnapshotData"))
_DATA_OK["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
PATHS["/v1/snapshots/{id}/data"] = {"get": _op(
    "The data a snapshot's image was drawn from, frozen when it was taken (406 for an Accept that allows neither "
    "JSON nor CSV)", _DATA_OK, params=[ANY_ID])}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "chartsnap",
        "version": "1",
        "description": "Chart snapshots, wire-compatible with the Librato Metrics API v1. Every authenticated "
                       "response carries X-Librato-RateLimit-Limit, -Remaining and -Reset; past the limit: 429 "
                       "with Retry-After.",
    },
    "servers": [{"url": "/"}],
    "security": [{"basicAuth": []}],
    "components": {"securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}}, "schemas": SCHEMAS,
                   "headers": RATE_HEADERS},
    "paths": PATHS,
}

DOCUMENT_TEXT = json.dumps(DOCUMENT, allow_nan=False)
