"""The annotations API (/v1/annotations), as Librato documents it: requests
turned into AnnotationService calls, replies rendered as Librato's JSON.

Only shapes and types are checked here (naming the field); the snapshot
service checks meaning (names, lengths, times, link hrefs). A path's stream
name or id that could never exist is a 404 before any RPC."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

from aiohttp import web
from multidict import MultiMapping

from chartsnap import errors
from chartsnap.errors import ParamErrors
from chartsnap.v1 import annotations_pb2
from gateway import coerce, translate, views
from gateway.responses import json_response

# Longer names cannot be a stream's (Librato's metric name rules, at most 255
# characters); checked again, exactly, by the service.
MAX_NAME_CHARS = 255
MAX_TEXT_CHARS = 10_000  # what any one text field may carry to the service
UNASSIGNED = "unassigned"  # Librato's group of the events made without a source


class Gateway(Protocol):
    """What these handlers use of gateway.app.Gateway."""

    rpc: Any

    def call_options(self, request: web.Request) -> dict: ...
    async def body(self, request: web.Request) -> dict: ...
    @staticmethod
    def path_id(request: web.Request, name: str, what: str) -> int: ...


# -- replies ----------------------------------------------------------------------
def link_json(link: annotations_pb2.AnnotationLink) -> dict:
    return {"rel": link.rel, "href": link.href, "label": link.label or None}


def event_json(event: annotations_pb2.AnnotationEvent) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "description": event.description if event.HasField("description") else None,
        "source": event.source if event.HasField("source") else None,
        "start_time": event.start_time,
        "end_time": event.end_time if event.HasField("end_time") else None,
        "links": [link_json(link) for link in event.links],
    }


def stream_json(stream: annotations_pb2.AnnotationStream) -> dict:
    return {
        "name": stream.name,
        "display_name": stream.display_name if stream.HasField("display_name") else None,
        "description": stream.description if stream.HasField("description") else None,
    }


def events_by_source(events: Any) -> list[dict]:
    """Librato's shape: one object mapping each source (`unassigned` for
    events without one) to its events, earliest first; [] when none."""
    grouped: dict[str, list[dict]] = {}
    for event in events:
        grouped.setdefault(event.source if event.HasField("source") else UNASSIGNED, []).append(event_json(event))
    return [grouped] if grouped else []


def event_location(stream: str, event_id: int) -> str:
    return f"/v1/annotations/{quote(stream, safe='')}/{event_id}"


# -- requests -----------------------------------------------------------------------
def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if len(name) > MAX_NAME_CHARS:
        raise errors.NotFound("annotation stream not found")
    return name


def _text_field(body: dict, key: str, problems: ParamErrors, most: int = MAX_TEXT_CHARS) -> str | None:
    """The field as text; None when absent or null."""
    if body.get(key) is None:
        return None
    try:
        return coerce.text(body[key], key, most)
    except errors.InvalidParams as exc:
        for field, messages in exc.fields.items():
            for message in messages:
                problems.add(field, message)
        return None


def _time_field(body: dict, key: str, problems: ParamErrors) -> int | None:
    if body.get(key) in (None, ""):
        return None
    try:
        return coerce.epoch_seconds(body[key], key)
    except errors.InvalidParams as exc:
        problems.add(key, exc.fields[key][0])
        return None


def _links(raw: Any, problems: ParamErrors) -> list[annotations_pb2.AnnotationLink]:
    try:
        items = coerce.as_list(raw, "links")
    except errors.InvalidParams:
        problems.add("links", "must be a list of {rel, href, label} objects")
        return []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(f"links[{i}]", "must be an object with rel, href and label")
            continue
        out.append(_link(item, f"links[{i}]", problems))
    return out


def _link(item: dict, where: str, problems: ParamErrors) -> annotations_pb2.AnnotationLink:
    fields = {}
    for key in ("rel", "href", "label"):
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            problems.add(f"{where}.{key}" if where else key, "must be a string")
            continue
        fields[key] = str(value)[:MAX_TEXT_CHARS]
    return annotations_pb2.AnnotationLink(**fields)


def create_request(name: str, body: dict) -> annotations_pb2.CreateAnnotationRequest:
    problems = ParamErrors()
    rpc = annotations_pb2.CreateAnnotationRequest(stream=name)
    title = _text_field(body, "title", problems)
    if title is not None:
        rpc.title = title
    for key in ("description", "source"):
        value = _text_field(body, key, problems)
        if value is not None:
            setattr(rpc, key, value)
    for key in ("start_time", "end_time"):
        value = _time_field(body, key, problems)
        if value is not None:
            setattr(rpc, key, value)
    rpc.links.extend(_links(body.get("links"), problems))
    problems.raise_if_any()
    return rpc


def update_event_request(name: str, event_id: int, body: dict) -> annotations_pb2.UpdateAnnotationRequest:
    problems = ParamErrors()
    rpc = annotations_pb2.UpdateAnnotationRequest(stream=name, id=event_id)
    for key in ("title", "description", "source"):
        value = _text_field(body, key, problems)
        if value is not None:
            setattr(rpc, key, value)
    start = _time_field(body, "start_time", problems)
    if start is not None:
        rpc.start_time = start
    if "end_time" in body and body["end_time"] in (None, ""):
        rpc.clear_end_time = True  # null: the event becomes a point in time again
    else:
        end = _time_field(body, "end_time", problems)
        if end is not None:
            rpc.end_time = end
    if "links" in body:
        rpc.links.extend(_links(body["links"], problems))
        rpc.set_links = True
    problems.raise_if_any()
    return rpc


def stream_query(name: str, query: MultiMapping[str]) -> annotations_pb2.GetAnnotationStreamRequest:
    problems = ParamErrors()
    rpc = annotations_pb2.GetAnnotationStreamRequest(name=name, page=translate.page_request(query))
    for key in ("start_time", "end_time"):
        value = _time_field(dict(query), key, problems) if key in query else None
        if value is not None:
            setattr(rpc, key, value)
    # sources[]=a&sources[]=b as the clients send it; sources=a too
    rpc.sources.extend(query.getall("sources[]", []) + query.getall("sources", []))
    problems.raise_if_any()
    return rpc


# -- handlers -------------------------------------------------------------------------
def annotation_routes(gw: Gateway) -> list[web.RouteDef]:
    def event_id(request: web.Request) -> int:
        return gw.path_id(request, "id", "annotation")

    async def list_streams(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        reply = await gw.rpc.annotations.ListAnnotationStreams(annotations_pb2.ListAnnotationStreamsRequest(
            page=translate.page_request(request.query), name=request.query.get("name", "")), **opts)
        return json_response({"query": views.query(reply.page),
                              "annotations": [stream_json(s) for s in reply.streams]})

    async def create_event(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        # Not _name(): a name that cannot be made is the service's 400 naming it, not a 404.
        rpc = create_request(request.match_info["name"], await gw.body(request))
        event = await gw.rpc.annotations.CreateAnnotation(rpc, **opts)
        return json_response(event_json(event), 201, {"Location": event_location(event.stream, event.id)})

    async def get_stream(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        stream = await gw.rpc.annotations.GetAnnotationStream(stream_query(_name(request), request.query), **opts)
        return json_response({**stream_json(stream), "events": events_by_source(stream.events),
                              "query": views.query(stream.page)})

    async def update_stream(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        body = await gw.body(request)
        problems = ParamErrors()
        rpc = annotations_pb2.UpdateAnnotationStreamRequest(name=_name(request))
        for key in ("display_name", "description"):
            value = _text_field(body, key, problems)
            if value is not None:
                setattr(rpc, key, value)
        problems.raise_if_any()
        await gw.rpc.annotations.UpdateAnnotationStream(rpc, **opts)
        return web.Response(status=204)

    async def delete_stream(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        await gw.rpc.annotations.DeleteAnnotationStream(
            annotations_pb2.DeleteAnnotationStreamRequest(name=_name(request)), **opts)
        return web.Response(status=204)

    async def get_event(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        event = await gw.rpc.annotations.GetAnnotation(annotations_pb2.GetAnnotationRequest(
            stream=_name(request), id=event_id(request)), **opts)
        return json_response(event_json(event))

    async def update_event(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        rpc = update_event_request(_name(request), event_id(request), await gw.body(request))
        await gw.rpc.annotations.UpdateAnnotation(rpc, **opts)
        return web.Response(status=204)

    async def delete_event(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        await gw.rpc.annotations.DeleteAnnotation(annotations_pb2.DeleteAnnotationRequest(
            stream=_name(request), id=event_id(request)), **opts)
        return web.Response(status=204)

    async def add_link(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        problems = ParamErrors()
        name, found = _name(request), event_id(request)
        link = _link(await gw.body(request), "", problems)
        problems.raise_if_any()
        made = await gw.rpc.annotations.AddAnnotationLink(annotations_pb2.AddAnnotationLinkRequest(
            stream=name, id=found, link=link), **opts)
        location = f"{event_location(name.lower(), found)}/links/{quote(made.rel, safe='')}"
        return json_response(link_json(made), 201, {"Location": location})

    async def delete_link(request: web.Request) -> web.Response:
        opts = gw.call_options(request)
        await gw.rpc.annotations.DeleteAnnotationLink(annotations_pb2.DeleteAnnotationLinkRequest(
            stream=_name(request), id=event_id(request), rel=request.match_info["rel"]), **opts)
        return web.Response(status=204)

    return [
        web.get("/v1/annotations", list_streams),
        web.post("/v1/annotations/{name}", create_event),
        web.get("/v1/annotations/{name}", get_stream),
        web.put("/v1/annotations/{name}", update_stream),
        web.delete("/v1/annotations/{name}", delete_stream),
        web.get("/v1/annotations/{name}/{id}", get_event),
        web.put("/v1/annotations/{name}/{id}", update_event),
        web.delete("/v1/annotations/{name}/{id}", delete_event),
        web.post("/v1/annotations/{name}/{id}/links", add_link),
        web.delete("/v1/annotations/{name}/{id}/links/{rel}", delete_link),
    ]
