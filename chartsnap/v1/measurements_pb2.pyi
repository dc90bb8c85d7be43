from chartsnap.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Measurement(_message.Message):
    __slots__ = ("name", "value", "count", "sum", "min", "max", "last", "tags", "has_tags", "time", "period", "path", "stddev", "stddev_m2", "sum_squares", "attributes_json", "type")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    HAS_TAGS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    STDDEV_M2_FIELD_NUMBER: _ClassVar[int]
    SUM_SQUARES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    count: int
    sum: float
    min: float
    max: float
    last: float
    tags: _containers.ScalarMap[str, str]
    has_tags: bool
    time: int
    period: int
    path: str
    stddev: float
    stddev_m2: float
    sum_squares: float
    attributes_json: str
    type: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., count: _Optional[int] = ..., sum: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., last: _Optional[float] = ..., tags: _Optional[_Mapping[str, str]] = ..., has_tags: _Optional[bool] = ..., time: _Optional[int] = ..., period: _Optional[int] = ..., path: _Optional[str] = ..., stddev: _Optional[float] = ..., stddev_m2: _Optional[float] = ..., sum_squares: _Optional[float] = ..., attributes_json: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class SampleColumns(_message.Message):
    __slots__ = ("name", "tags", "has_tags", "times", "values", "positions")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    HAS_TAGS_FIELD_NUMBER: _ClassVar[int]
    TIMES_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    tags: _containers.ScalarMap[str, str]
    has_tags: bool
    times: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    positions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., has_tags: _Optional[bool] = ..., times: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., positions: _Optional[_Iterable[int]] = ...) -> None: ...

class SubmitMeasurementsRequest(_message.Message):
    __slots__ = ("tags", "time", "measurements", "period", "legacy", "columns")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LEGACY_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.ScalarMap[str, str]
    time: int
    measurements: _containers.RepeatedCompositeFieldContainer[Measurement]
    period: int
    legacy: bool
    columns: _containers.RepeatedCompositeFieldContainer[SampleColumns]
    def __init__(self, tags: _Optional[_Mapping[str, str]] = ..., time: _Optional[int] = ..., measurements: _Optional[_Iterable[_Union[Measurement, _Mapping]]] = ..., period: _Optional[int] = ..., legacy: _Optional[bool] = ..., columns: _Optional[_Iterable[_Union[SampleColumns, _Mapping]]] = ...) -> None: ...

class SubmitMeasurementsResponse(_message.Message):
    __slots__ = ("accepted", "rejected")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: _containers.RepeatedCompositeFieldContainer[FieldError]
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[FieldError, _Mapping]]] = ...) -> None: ...

class FieldError(_message.Message):
    __slots__ = ("field", "messages")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    field: str
    messages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, field: _Optional[str] = ..., messages: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryMeasurementsRequest(_message.Message):
    __slots__ = ("name", "start_time", "end_time", "duration", "resolution", "tags", "group_by", "group_by_function", "summary_function", "origin")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: int
    end_time: int
    duration: int
    resolution: int
    tags: _containers.ScalarMap[str, str]
    group_by: str
    group_by_function: str
    summary_function: str
    origin: str
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., duration: _Optional[int] = ..., resolution: _Optional[int] = ..., tags: _Optional[_Mapping[str, str]] = ..., group_by: _Optional[str] = ..., group_by_function: _Optional[str] = ..., summary_function: _Optional[str] = ..., origin: _Optional[str] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("time", "value")
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    time: int
    value: float
    def __init__(self, time: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...

class Series(_message.Message):
    __slots__ = ("tags", "measurements")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TAGS_FIELD_NUMBER: _ClassVar[int]
    MEASUREMENTS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.ScalarMap[str, str]
    measurements: _containers.RepeatedCompositeFieldContainer[Point]
    def __init__(self, tags: _Optional[_Mapping[str, str]] = ..., measurements: _Optional[_Iterable[_Union[Point, _Mapping]]] = ...) -> None: ...

class QueryMeasurementsResponse(_message.Message):
    __slots__ = ("name", "resolution", "series")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    resolution: int
    series: _containers.RepeatedCompositeFieldContainer[Series]
    def __init__(self, name: _Optional[str] = ..., resolution: _Optional[int] = ..., series: _Optional[_Iterable[_Union[Series, _Mapping]]] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("name", "type", "display_name", "description", "period", "attributes_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    display_name: str
    description: str
    period: int
    attributes_json: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., period: _Optional[int] = ..., attributes_json: _Optional[str] = ...) -> None: ...

class ListMetricsRequest(_message.Message):
    __slots__ = ("page", "name")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    name: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class ListMetricsResponse(_message.Message):
    __slots__ = ("page", "metrics")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageInfo
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    def __init__(self, page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ...) -> None: ...

class GetMetricRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class UpdateMetricRequest(_message.Message):
    __slots__ = ("name", "type", "display_name", "description", "period", "attributes_json", "cleared")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    CLEARED_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    display_name: str
    description: str
    period: int
    attributes_json: str
    cleared: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., period: _Optional[int] = ..., attributes_json: _Optional[str] = ..., cleared: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateMetricResponse(_message.Message):
    __slots__ = ("created", "metric")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    created: bool
    metric: Metric
    def __init__(self, created: _Optional[bool] = ..., metric: _Optional[_Union[Metric, _Mapping]] = ...) -> None: ...
