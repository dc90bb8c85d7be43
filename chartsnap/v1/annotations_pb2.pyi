from chartsnap.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnnotationLink(_message.Message):
    __slots__ = ("rel", "href", "label")
    REL_FIELD_NUMBER: _ClassVar[int]
    HREF_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    rel: str
    href: str
    label: str
    def __init__(self, rel: _Optional[str] = ..., href: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class AnnotationEvent(_message.Message):
    __slots__ = ("id", "stream", "title", "description", "source", "start_time", "end_time", "links")
    ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    id: int
    stream: str
    title: str
    description: str
    source: str
    start_time: int
    end_time: int
    links: _containers.RepeatedCompositeFieldContainer[AnnotationLink]
    def __init__(self, id: _Optional[int] = ..., stream: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., source: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., links: _Optional[_Iterable[_Union[AnnotationLink, _Mapping]]] = ...) -> None: ...

class AnnotationStream(_message.Message):
    __slots__ = ("name", "display_name", "description", "events", "page")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    events: _containers.RepeatedCompositeFieldContainer[AnnotationEvent]
    page: _common_pb2.PageInfo
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., events: _Optional[_Iterable[_Union[AnnotationEvent, _Mapping]]] = ..., page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ...) -> None: ...

class CreateAnnotationRequest(_message.Message):
    __slots__ = ("stream", "title", "description", "source", "start_time", "end_time", "links")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    stream: str
    title: str
    description: str
    source: str
    start_time: int
    end_time: int
    links: _containers.RepeatedCompositeFieldContainer[AnnotationLink]
    def __init__(self, stream: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., source: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., links: _Optional[_Iterable[_Union[AnnotationLink, _Mapping]]] = ...) -> None: ...

class ListAnnotationStreamsRequest(_message.Message):
    __slots__ = ("page", "name")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    name: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class ListAnnotationStreamsResponse(_message.Message):
    __slots__ = ("page", "streams")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageInfo
    streams: _containers.RepeatedCompositeFieldContainer[AnnotationStream]
    def __init__(self, page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ..., streams: _Optional[_Iterable[_Union[AnnotationStream, _Mapping]]] = ...) -> None: ...

class GetAnnotationStreamRequest(_message.Message):
    __slots__ = ("name", "start_time", "end_time", "sources", "page")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: int
    end_time: int
    sources: _containers.RepeatedScalarFieldContainer[str]
    page: _common_pb2.PageRequest
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., sources: _Optional[_Iterable[str]] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class UpdateAnnotationStreamRequest(_message.Message):
    __slots__ = ("name", "display_name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class DeleteAnnotationStreamRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAnnotationRequest(_message.Message):
    __slots__ = ("stream", "id")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    stream: str
    id: int
    def __init__(self, stream: _Optional[str] = ..., id: _Optional[int] = ...) -> None: ...

class UpdateAnnotationRequest(_message.Message):
    __slots__ = ("stream", "id", "title", "description", "source", "start_time", "end_time", "clear_end_time", "links", "set_links")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CLEAR_END_TIME_FIELD_NUMBER: _ClassVar[int]
    LINKS_FIELD_NUMBER: _ClassVar[int]
    SET_LINKS_FIELD_NUMBER: _ClassVar[int]
    stream: str
    id: int
    title: str
    description: str
    source: str
    start_time: int
    end_time: int
    clear_end_time: bool
    links: _containers.RepeatedCompositeFieldContainer[AnnotationLink]
    set_links: bool
    def __init__(self, stream: _Optional[str] = ..., id: _Optional[int] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., source: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., clear_end_time: _Optional[bool] = ..., links: _Optional[_Iterable[_Union[AnnotationLink, _Mapping]]] = ..., set_links: _Optional[bool] = ...) -> None: ...

class DeleteAnnotationRequest(_message.Message):
    __slots__ = ("stream", "id")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    stream: str
    id: int
    def __init__(self, stream: _Optional[str] = ..., id: _Optional[int] = ...) -> None: ...

class AddAnnotationLinkRequest(_message.Message):
    __slots__ = ("stream", "id", "link")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    stream: str
    id: int
    link: AnnotationLink
    def __init__(self, stream: _Optional[str] = ..., id: _Optional[int] = ..., link: _Optional[_Union[AnnotationLink, _Mapping]] = ...) -> None: ...

class DeleteAnnotationLinkRequest(_message.Message):
    __slots__ = ("stream", "id", "rel")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REL_FIELD_NUMBER: _ClassVar[int]
    stream: str
    id: int
    rel: str
    def __init__(self, stream: _Optional[str] = ..., id: _Optional[int] = ..., rel: _Optional[str] = ...) -> None: ...

class AnnotationDeleted(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
