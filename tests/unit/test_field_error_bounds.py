"""Field errors are bounded in number and length, and the gRPC rich status
that carries them stays far below gRPC's 8 KB metadata limit."""

from __future__ import annotations

import grpc

from chartsnap import bounds, errors
from chartsnap.errors import bounded_fields
from chartsnap.status_table import to_grpc_status


def test_many_fields_are_cut_and_counted() -> None:
    fields = {f"settings.key{i}": ["is not a setting of this type"] for i in range(100)}
    exc = errors.InvalidParams(fields)
    assert len(exc.fields) == bounds.MAX_ERROR_FIELDS + 1
    assert exc.fields[bounds.MORE_FIELD] == ["and 80 more fields with errors"]
    assert len(exc.message) <= bounds.MAX_MESSAGE_CHARS


def test_long_messages_and_names_are_clipped() -> None:
    out = bounded_fields({"x" * 1000: ["y" * 5000] * 10})
    [(name, messages)] = out.items()
    assert len(name) == bounds.MAX_FIELD_NAME_CHARS
    assert len(messages) == bounds.MAX_FIELD_MESSAGES + 1 and messages[-1] == "and 7 more"
    assert all(len(m) <= bounds.MAX_MESSAGE_CHARS for m in messages)


def test_small_errors_are_unchanged() -> None:
    assert bounded_fields({"duration": ["must be a positive integer"]}) == {"duration": ["must be a positive integer"]}


def test_rich_status_fits_the_metadata_limit_even_with_wide_characters() -> None:
    fields = {f"streams[{i}].{'é' * 200}": ["ü" * 500] * 10 for i in range(100)}
    status = to_grpc_status(errors.InvalidParams(fields))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    size = sum(len(k) + len(v) for k, v in status.trailing_metadata)
    # The details fit their budget; the status around them adds the message.
    assert size <= bounds.MAX_RICH_STATUS_BYTES + 4 * bounds.MAX_MESSAGE_CHARS + 100
    # base64 on the wire (4/3) plus the bounded grpc-message, percent-encoded
    # (3 bytes per UTF-8 byte at worst), is still under 8 KB.
    assert size * 4 / 3 + bounds.MAX_MESSAGE_CHARS * 4 * 3 < 8192
