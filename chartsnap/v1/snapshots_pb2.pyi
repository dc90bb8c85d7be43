import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from chartsnap.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SnapshotSubject(_message.Message):
    __slots__ = ("chart_id", "chart_type", "tags", "source")
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_TYPE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    chart_id: int
    chart_type: str
    tags: _containers.RepeatedCompositeFieldContainer[_common_pb2.TagFilter]
    source: str
    def __init__(self, chart_id: _Optional[int] = ..., chart_type: _Optional[str] = ..., tags: _Optional[_Iterable[_Union[_common_pb2.TagFilter, _Mapping]]] = ..., source: _Optional[str] = ...) -> None: ...

class CreateSnapshotRequest(_message.Message):
    __slots__ = ("subject", "duration", "end_time", "services", "message", "width", "height", "idempotency_key", "timezone", "scale", "theme", "annotations")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    subject: SnapshotSubject
    duration: int
    end_time: _timestamp_pb2.Timestamp
    services: _containers.RepeatedScalarFieldContainer[str]
    message: str
    width: int
    height: int
    idempotency_key: str
    timezone: str
    scale: float
    theme: str
    annotations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[_Union[SnapshotSubject, _Mapping]] = ..., duration: _Optional[int] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., services: _Optional[_Iterable[str]] = ..., message: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., timezone: _Optional[str] = ..., scale: _Optional[float] = ..., theme: _Optional[str] = ..., annotations: _Optional[_Iterable[str]] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("id", "job_id", "image_url", "duration", "end_time", "created_at", "updated_at", "chart_id", "chart_type", "sources", "width", "height", "share_token", "timezone", "scale", "theme", "annotations", "summary")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SHARE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: int
    job_id: int
    image_url: str
    duration: int
    end_time: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    chart_id: int
    chart_type: str
    sources: _containers.RepeatedScalarFieldContainer[str]
    width: int
    height: int
    share_token: str
    timezone: str
    scale: float
    theme: str
    annotations: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    def __init__(self, id: _Optional[int] = ..., job_id: _Optional[int] = ..., image_url: _Optional[str] = ..., duration: _Optional[int] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., chart_id: _Optional[int] = ..., chart_type: _Optional[str] = ..., sources: _Optional[_Iterable[str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., share_token: _Optional[str] = ..., timezone: _Optional[str] = ..., scale: _Optional[float] = ..., theme: _Optional[str] = ..., annotations: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ...) -> None: ...

class GetSnapshotRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("page", "snapshots")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageInfo
    snapshots: _containers.RepeatedCompositeFieldContainer[Snapshot]
    def __init__(self, page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ..., snapshots: _Optional[_Iterable[_Union[Snapshot, _Mapping]]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class DeliveryOutcome(_message.Message):
    __slots__ = ("service_id", "type", "state", "attempts", "error")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    type: str
    state: str
    attempts: int
    error: str
    def __init__(self, service_id: _Optional[str] = ..., type: _Optional[str] = ..., state: _Optional[str] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "state", "progress", "image_url", "deliveries", "errors")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    id: int
    state: str
    progress: float
    image_url: str
    deliveries: _containers.RepeatedCompositeFieldContainer[DeliveryOutcome]
    errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., state: _Optional[str] = ..., progress: _Optional[float] = ..., image_url: _Optional[str] = ..., deliveries: _Optional[_Iterable[_Union[DeliveryOutcome, _Mapping]]] = ..., errors: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSharedSnapshotRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class SharedSnapshot(_message.Message):
    __slots__ = ("token", "state", "image_url", "width", "height", "chart_name", "chart_id", "chart_type", "duration", "end_time", "created_at", "taken_by_name", "message", "summary")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[SharedSnapshot.State]
        PENDING: _ClassVar[SharedSnapshot.State]
        RENDERED: _ClassVar[SharedSnapshot.State]
        FAILED: _ClassVar[SharedSnapshot.State]
    STATE_UNSPECIFIED: SharedSnapshot.State
    PENDING: SharedSnapshot.State
    RENDERED: SharedSnapshot.State
    FAILED: SharedSnapshot.State
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHART_NAME_FIELD_NUMBER: _ClassVar[int]
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_TYPE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    TAKEN_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    token: str
    state: SharedSnapshot.State
    image_url: str
    width: int
    height: int
    chart_name: str
    chart_id: int
    chart_type: str
    duration: int
    end_time: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    taken_by_name: str
    message: str
    summary: str
    def __init__(self, token: _Optional[str] = ..., state: _Optional[_Union[SharedSnapshot.State, str]] = ..., image_url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., chart_name: _Optional[str] = ..., chart_id: _Optional[int] = ..., chart_type: _Optional[str] = ..., duration: _Optional[int] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., taken_by_name: _Optional[str] = ..., message: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class GetSnapshotDataRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class DataSeries(_message.Message):
    __slots__ = ("label", "metric", "tags", "times", "values")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    label: str
    metric: str
    tags: _containers.ScalarMap[str, str]
    times: _containers.RepeatedScalarFieldContainer[float]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, label: _Optional[str] = ..., metric: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., times: _Optional[_Iterable[float]] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class SnapshotData(_message.Message):
    __slots__ = ("snapshot_id", "start", "end", "resolution", "timezone", "chart_type", "series", "png_sha256", "summary", "taken_at", "big_value", "units_short")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    CHART_TYPE_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    PNG_SHA256_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    BIG_VALUE_FIELD_NUMBER: _ClassVar[int]
    UNITS_SHORT_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: int
    start: float
    end: float
    resolution: int
    timezone: str
    chart_type: str
    series: _containers.RepeatedCompositeFieldContainer[DataSeries]
    png_sha256: str
    summary: str
    taken_at: _timestamp_pb2.Timestamp
    big_value: float
    units_short: str
    def __init__(self, snapshot_id: _Optional[int] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., resolution: _Optional[int] = ..., timezone: _Optional[str] = ..., chart_type: _Optional[str] = ..., series: _Optional[_Iterable[_Union[DataSeries, _Mapping]]] = ..., png_sha256: _Optional[str] = ..., summary: _Optional[str] = ..., taken_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., big_value: _Optional[float] = ..., units_short: _Optional[str] = ...) -> None: ...
