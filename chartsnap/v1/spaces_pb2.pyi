from chartsnap.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Space(_message.Message):
    __slots__ = ("id", "name", "chart_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHART_IDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    chart_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., chart_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class CreateSpaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSpacesRequest(_message.Message):
    __slots__ = ("page", "name")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    name: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class ListSpacesResponse(_message.Message):
    __slots__ = ("page", "spaces")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    SPACES_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageInfo
    spaces: _containers.RepeatedCompositeFieldContainer[Space]
    def __init__(self, page: _Optional[_Union[_common_pb2.PageInfo, _Mapping]] = ..., spaces: _Optional[_Iterable[_Union[Space, _Mapping]]] = ...) -> None: ...

class GetSpaceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class UpdateSpaceRequest(_message.Message):
    __slots__ = ("id", "name")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteSpaceRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class Threshold(_message.Message):
    __slots__ = ("operator", "value", "type")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    value: float
    type: str
    def __init__(self, operator: _Optional[str] = ..., value: _Optional[float] = ..., type: _Optional[str] = ...) -> None: ...

class Stream(_message.Message):
    __slots__ = ("id", "metric", "tags", "source", "group_function", "summary_function", "color", "name", "units_short", "units_long", "min", "max", "transform_function", "period", "composite", "downsample_function")
    ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    GROUP_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNITS_SHORT_FIELD_NUMBER: _ClassVar[int]
    UNITS_LONG_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    TRANSFORM_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    COMPOSITE_FIELD_NUMBER: _ClassVar[int]
    DOWNSAMPLE_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    id: int
    metric: str
    tags: _containers.RepeatedCompositeFieldContainer[_common_pb2.TagFilter]
    source: str
    group_function: str
    summary_function: str
    color: str
    name: str
    units_short: str
    units_long: str
    min: float
    max: float
    transform_function: str
    period: int
    composite: str
    downsample_function: str
    def __init__(self, id: _Optional[int] = ..., metric: _Optional[str] = ..., tags: _Optional[_Iterable[_Union[_common_pb2.TagFilter, _Mapping]]] = ..., source: _Optional[str] = ..., group_function: _Optional[str] = ..., summary_function: _Optional[str] = ..., color: _Optional[str] = ..., name: _Optional[str] = ..., units_short: _Optional[str] = ..., units_long: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., transform_function: _Optional[str] = ..., period: _Optional[int] = ..., composite: _Optional[str] = ..., downsample_function: _Optional[str] = ...) -> None: ...

class Chart(_message.Message):
    __slots__ = ("id", "space_id", "name", "type", "streams", "min", "max", "label", "related_space", "thresholds", "use_last_value")
    ID_FIELD_NUMBER: _ClassVar[int]
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RELATED_SPACE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    USE_LAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    id: int
    space_id: int
    name: str
    type: str
    streams: _containers.RepeatedCompositeFieldContainer[Stream]
    min: float
    max: float
    label: str
    related_space: int
    thresholds: _containers.RepeatedCompositeFieldContainer[Threshold]
    use_last_value: bool
    def __init__(self, id: _Optional[int] = ..., space_id: _Optional[int] = ..., name: _Optional[str] = ..., type: _Optional[str] = ..., streams: _Optional[_Iterable[_Union[Stream, _Mapping]]] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., label: _Optional[str] = ..., related_space: _Optional[int] = ..., thresholds: _Optional[_Iterable[_Union[Threshold, _Mapping]]] = ..., use_last_value: _Optional[bool] = ...) -> None: ...

class ChartFields(_message.Message):
    __slots__ = ("name", "type", "streams", "set_streams", "min", "max", "label", "related_space", "thresholds", "set_thresholds", "use_last_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    SET_STREAMS_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    RELATED_SPACE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    SET_THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    USE_LAST_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    streams: _containers.RepeatedCompositeFieldContainer[Stream]
    set_streams: bool
    min: float
    max: float
    label: str
    related_space: int
    thresholds: _containers.RepeatedCompositeFieldContainer[Threshold]
    set_thresholds: bool
    use_last_value: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., streams: _Optional[_Iterable[_Union[Stream, _Mapping]]] = ..., set_streams: _Optional[bool] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., label: _Optional[str] = ..., related_space: _Optional[int] = ..., thresholds: _Optional[_Iterable[_Union[Threshold, _Mapping]]] = ..., set_thresholds: _Optional[bool] = ..., use_last_value: _Optional[bool] = ...) -> None: ...

class CreateChartRequest(_message.Message):
    __slots__ = ("space_id", "chart")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    space_id: int
    chart: ChartFields
    def __init__(self, space_id: _Optional[int] = ..., chart: _Optional[_Union[ChartFields, _Mapping]] = ...) -> None: ...

class ListChartsRequest(_message.Message):
    __slots__ = ("space_id",)
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: int
    def __init__(self, space_id: _Optional[int] = ...) -> None: ...

class ListChartsResponse(_message.Message):
    __slots__ = ("charts",)
    CHARTS_FIELD_NUMBER: _ClassVar[int]
    charts: _containers.RepeatedCompositeFieldContainer[Chart]
    def __init__(self, charts: _Optional[_Iterable[_Union[Chart, _Mapping]]] = ...) -> None: ...

class GetChartRequest(_message.Message):
    __slots__ = ("space_id", "chart_id")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: int
    chart_id: int
    def __init__(self, space_id: _Optional[int] = ..., chart_id: _Optional[int] = ...) -> None: ...

class UpdateChartRequest(_message.Message):
    __slots__ = ("space_id", "chart_id", "chart")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    space_id: int
    chart_id: int
    chart: ChartFields
    def __init__(self, space_id: _Optional[int] = ..., chart_id: _Optional[int] = ..., chart: _Optional[_Union[ChartFields, _Mapping]] = ...) -> None: ...

class DeleteChartRequest(_message.Message):
    __slots__ = ("space_id", "chart_id")
    SPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CHART_ID_FIELD_NUMBER: _ClassVar[int]
    space_id: int
    chart_id: int
    def __init__(self, space_id: _Optional[int] = ..., chart_id: _Optional[int] = ...) -> None: ...
