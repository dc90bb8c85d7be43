"""Librato pagination: offset (default 0), length (default and max 100), orderby, sort."""

from __future__ import annotations

from dataclasses import dataclass

from chartsnap.errors import ParamErrors

MAX_LENGTH = 100


@dataclass(frozen=True)
class Page:
    offset: int
    length: int
    orderby: str
    descending: bool


def page_from(offset: int, length: int, orderby: str, sort: str, allowed_orderby: tuple[str, ...]) -> Page:
    problems = ParamErrors()
    if offset < 0:
        problems.add("offset", "must be a non-negative integer")
    if length < 0 or length > MAX_LENGTH:
        problems.add("length", f"must be between 1 and {MAX_LENGTH}")
    if orderby and orderby not in allowed_orderby:
        problems.add("orderby", f"must be one of {', '.join(allowed_orderby)}")
    if sort and sort not in ("asc", "desc"):
        problems.add("sort", "must be asc or desc")
    problems.raise_if_any()
    return Page(offset, length or MAX_LENGTH, orderby or allowed_orderby[0], sort == "desc")
