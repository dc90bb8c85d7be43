from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PageRequest(_message.Message):
    __slots__ = ("offset", "length", "orderby", "sort")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ORDERBY_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    offset: int
    length: int
    orderby: str
    sort: str
    def __init__(self, offset: _Optional[int] = ..., length: _Optional[int] = ..., orderby: _Optional[str] = ..., sort: _Optional[str] = ...) -> None: ...

class PageInfo(_message.Message):
    __slots__ = ("found", "length", "offset", "total")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    found: int
    length: int
    offset: int
    total: int
    def __init__(self, found: _Optional[int] = ..., length: _Optional[int] = ..., offset: _Optional[int] = ..., total: _Optional[int] = ...) -> None: ...

class TagFilter(_message.Message):
    __slots__ = ("name", "values", "grouped", "dynamic")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    GROUPED_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_FIELD_NUMBER: _ClassVar[int]
    name: str
    values: _containers.RepeatedScalarFieldContainer[str]
    grouped: bool
    dynamic: bool
    def __init__(self, name: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ..., grouped: _Optional[bool] = ..., dynamic: _Optional[bool] = ...) -> None: ...
