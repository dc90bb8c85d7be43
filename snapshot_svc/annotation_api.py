"""gRPC adapter of the annotations API (AnnotationService): authenticates each
call and translates between protobuf and AnnotationStore's dicts."""

from __future__ import annotations

import asyncio
from typing import Any

from chartsnap.grpc_server import domain_rpc
from chartsnap.v1 import annotations_pb2, annotations_pb2_grpc, common_pb2
from snapshot_svc.annotations import AnnotationStore, EventChange, EventWindow
from snapshot_svc.pagination import Page, page_from

STREAM_ORDERS = ("name",)  # Librato: streams are listed by name only
EVENT_ORDERS = ("start_time",)  # events: always by their start times


def _given(message: Any, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def _page(request: Any, orderable: tuple[str, ...]) -> Page:
    p = request.page
    return page_from(p.offset, p.length, p.orderby, p.sort, orderable)


def _links(links: Any) -> list[dict]:
    return [{"rel": link.rel, "href": link.href, "label": link.label} for link in links]


def event_to_proto(stream: str, event: dict) -> annotations_pb2.AnnotationEvent:
    return annotations_pb2.AnnotationEvent(
        id=event["id"], stream=stream, title=event["title"], description=event["description"],
        source=event["source"], start_time=event["start_time"], end_time=event["end_time"],
        links=[annotations_pb2.AnnotationLink(rel=link["rel"], href=link["href"], label=link.get("label", ""))
               for link in event["links"]],
    )


def stream_to_proto(stream: dict) -> annotations_pb2.AnnotationStream:
    out = annotations_pb2.AnnotationStream(name=stream["name"], display_name=stream["display_name"],
                                           description=stream["description"])
    for event in stream.get("events", ()):
        out.events.append(event_to_proto(stream["name"], event))
    if "query" in stream:
        out.page.CopyFrom(common_pb2.PageInfo(**stream["query"]))
    return out


class AnnotationServicer(annotations_pb2_grpc.AnnotationServiceServicer):
    def __init__(self, auth: Any, store: AnnotationStore) -> None:
        self.auth = auth
        self.store = store

    @domain_rpc
    async def CreateAnnotation(self, request, context):
        account = await self.auth(context)
        event = await asyncio.to_thread(
            self.store.create_event, account.id, request.stream, request.title,
            start_time=_given(request, "start_time"), end_time=_given(request, "end_time"),
            description=_given(request, "description"), source=_given(request, "source"),
            links=_links(request.links))
        return event_to_proto(request.stream.lower(), event)

    @domain_rpc
    async def ListAnnotationStreams(self, request, context):
        account = await self.auth(context)
        page = _page(request, STREAM_ORDERS)
        found, total, streams = await asyncio.to_thread(self.store.list_streams, account.id, page, request.name)
        return annotations_pb2.ListAnnotationStreamsResponse(
            page=common_pb2.PageInfo(found=found, length=len(streams), offset=page.offset, total=total),
            streams=[stream_to_proto(s) for s in streams])

    @domain_rpc
    async def GetAnnotationStream(self, request, context):
        account = await self.auth(context)
        page = _page(request, EVENT_ORDERS)
        window = EventWindow(_given(request, "start_time"), _given(request, "end_time"), tuple(request.sources))
        stream = await asyncio.to_thread(self.store.get_stream, account.id, request.name, window, page)
        return stream_to_proto(stream)

    @domain_rpc
    async def UpdateAnnotationStream(self, request, context):
        account = await self.auth(context)
        stream = await asyncio.to_thread(self.store.update_stream, account.id, request.name,
                                         _given(request, "display_name"), _given(request, "description"))
        return stream_to_proto(stream)

    @domain_rpc
    async def DeleteAnnotationStream(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.store.delete_stream, account.id, request.name)
        return annotations_pb2.AnnotationDeleted()

    @domain_rpc
    async def GetAnnotation(self, request, context):
        account = await self.auth(context)
        event = await asyncio.to_thread(self.store.get_event, account.id, request.stream, request.id)
        return event_to_proto(request.stream.lower(), event)

    @domain_rpc
    async def UpdateAnnotation(self, request, context):
        account = await self.auth(context)
        change = EventChange(
            title=_given(request, "title"), description=_given(request, "description"),
            source=_given(request, "source"), start_time=_given(request, "start_time"),
            end_time=_given(request, "end_time"), clear_end_time=request.clear_end_time,
            links=_links(request.links) if request.set_links else None)
        event = await asyncio.to_thread(self.store.update_event, account.id, request.stream, request.id, change)
        return event_to_proto(request.stream.lower(), event)

    @domain_rpc
    async def DeleteAnnotation(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.store.delete_event, account.id, request.stream, request.id)
        return annotations_pb2.AnnotationDeleted()

    @domain_rpc
    async def AddAnnotationLink(self, request, context):
        account = await self.auth(context)
        link = request.link
        made = await asyncio.to_thread(self.store.add_link, account.id, request.stream, request.id,
                                       {"rel": link.rel, "href": link.href, "label": link.label})
        return annotations_pb2.AnnotationLink(rel=made["rel"], href=made["href"], label=made.get("label", ""))

    @domain_rpc
    async def DeleteAnnotationLink(self, request, context):
        account = await self.auth(context)
        await asyncio.to_thread(self.store.delete_link, account.id, request.stream, request.id, request.rel)
        return annotations_pb2.AnnotationDeleted()
