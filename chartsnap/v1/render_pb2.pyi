from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RenderSeries(_message.Message):
    __slots__ = ("label", "color", "times", "values", "metric", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    label: str
    color: str
    times: _containers.RepeatedScalarFieldContainer[float]
    values: _containers.RepeatedScalarFieldContainer[float]
    metric: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, label: _Optional[str] = ..., color: _Optional[str] = ..., times: _Optional[_Iterable[float]] = ..., values: _Optional[_Iterable[float]] = ..., metric: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RenderAnnotation(_message.Message):
    __slots__ = ("stream", "title", "start", "end", "source")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    stream: str
    title: str
    start: float
    end: float
    source: str
    def __init__(self, stream: _Optional[str] = ..., title: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class RenderThreshold(_message.Message):
    __slots__ = ("operator", "value", "type")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    value: float
    type: str
    def __init__(self, operator: _Optional[str] = ..., value: _Optional[float] = ..., type: _Optional[str] = ...) -> None: ...

class RenderRequest(_message.Message):
    __slots__ = ("snapshot_id", "job_id", "image_key", "title", "chart_type", "width", "height", "start", "end", "series", "y_label", "y_min", "y_max", "big_value", "big_units", "thresholds", "enqueued_at", "y_units_short", "annotations", "timezone", "scale", "theme", "summary")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_KEY_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CHART_TYPE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    Y_LABEL_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MAX_FIELD_NUMBER: _ClassVar[int]
    BIG_VALUE_FIELD_NUMBER: _ClassVar[int]
    BIG_UNITS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    ENQUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    Y_UNITS_SHORT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    THEME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: int
    job_id: int
    image_key: str
    title: str
    chart_type: str
    width: int
    height: int
    start: float
    end: float
    series: _containers.RepeatedCompositeFieldContainer[RenderSeries]
    y_label: str
    y_min: float
    y_max: float
    big_value: float
    big_units: str
    thresholds: _containers.RepeatedCompositeFieldContainer[RenderThreshold]
    enqueued_at: float
    y_units_short: str
    annotations: _containers.RepeatedCompositeFieldContainer[RenderAnnotation]
    timezone: str
    scale: float
    theme: str
    summary: str
    def __init__(self, snapshot_id: _Optional[int] = ..., job_id: _Optional[int] = ..., image_key: _Optional[str] = ..., title: _Optional[str] = ..., chart_type: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., series: _Optional[_Iterable[_Union[RenderSeries, _Mapping]]] = ..., y_label: _Optional[str] = ..., y_min: _Optional[float] = ..., y_max: _Optional[float] = ..., big_value: _Optional[float] = ..., big_units: _Optional[str] = ..., thresholds: _Optional[_Iterable[_Union[RenderThreshold, _Mapping]]] = ..., enqueued_at: _Optional[float] = ..., y_units_short: _Optional[str] = ..., annotations: _Optional[_Iterable[_Union[RenderAnnotation, _Mapping]]] = ..., timezone: _Optional[str] = ..., scale: _Optional[float] = ..., theme: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class RenderResult(_message.Message):
    __slots__ = ("snapshot_id", "job_id", "state", "image_key", "error", "attempt", "png_sha256")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[RenderResult.State]
        STARTED: _ClassVar[RenderResult.State]
        SUCCEEDED: _ClassVar[RenderResult.State]
        FAILED: _ClassVar[RenderResult.State]
    STATE_UNSPECIFIED: RenderResult.State
    STARTED: RenderResult.State
    SUCCEEDED: RenderResult.State
    FAILED: RenderResult.State
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PNG_SHA256_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: int
    job_id: int
    state: RenderResult.State
    image_key: str
    error: str
    attempt: int
    png_sha256: str
    def __init__(self, snapshot_id: _Optional[int] = ..., job_id: _Optional[int] = ..., state: _Optional[_Union[RenderResult.State, str]] = ..., image_key: _Optional[str] = ..., error: _Optional[str] = ..., attempt: _Optional[int] = ..., png_sha256: _Optional[str] = ...) -> None: ...
