from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryRequest(_message.Message):
    __slots__ = ("delivery_id", "snapshot_id", "job_id", "service_id", "type", "settings", "chart_name", "chart_url", "sender_name", "sender_email", "message", "image_url", "image_key", "width", "height", "duration", "end_time", "summary", "timezone")
    class SettingsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    CHART_NAME_FIELD_NUMBER: _ClassVar[int]
    CHART_URL_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    SENDER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_KEY_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    snapshot_id: int
    job_id: int
    service_id: str
    type: str
    settings: _containers.ScalarMap[str, str]
    chart_name: str
    chart_url: str
    sender_name: str
    sender_email: str
    message: str
    image_url: str
    image_key: str
    width: int
    height: int
    duration: int
    end_time: float
    summary: str
    timezone: str
    def __init__(self, delivery_id: _Optional[str] = ..., snapshot_id: _Optional[int] = ..., job_id: _Optional[int] = ..., service_id: _Optional[str] = ..., type: _Optional[str] = ..., settings: _Optional[_Mapping[str, str]] = ..., chart_name: _Optional[str] = ..., chart_url: _Optional[str] = ..., sender_name: _Optional[str] = ..., sender_email: _Optional[str] = ..., message: _Optional[str] = ..., image_url: _Optional[str] = ..., image_key: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., duration: _Optional[int] = ..., end_time: _Optional[float] = ..., summary: _Optional[str] = ..., timezone: _Optional[str] = ...) -> None: ...

class DeliveryResult(_message.Message):
    __slots__ = ("delivery_id", "snapshot_id", "service_id", "state", "attempts", "error")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[DeliveryResult.State]
        DELIVERED: _ClassVar[DeliveryResult.State]
        FAILED: _ClassVar[DeliveryResult.State]
    STATE_UNSPECIFIED: DeliveryResult.State
    DELIVERED: DeliveryResult.State
    FAILED: DeliveryResult.State
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    snapshot_id: int
    service_id: str
    state: DeliveryResult.State
    attempts: int
    error: str
    def __init__(self, delivery_id: _Optional[str] = ..., snapshot_id: _Optional[int] = ..., service_id: _Optional[str] = ..., state: _Optional[_Union[DeliveryResult.State, str]] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...
