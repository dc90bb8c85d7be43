"""Request bodies as the Librato API takes them: JSON, JSON labelled as form
data (what `curl -d '{...}'` sends), and Rails-style nested forms
(`subject[chart][id]=1`, `streams[0][metric]=cpu`, `services[]=3`)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from chartsnap import errors

FORM = "application/x-www-form-urlencoded"
JSON_TYPES = ("application/json", "text/json")
MAX_FORM_FIELDS = 2000
MAX_DEPTH = 8
INDEX = re.compile(r"[0-9]{1,6}")  # Rails array index; anything else stays a hash key
KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class UnsupportedMediaType(errors.ChartsnapError):
    """Answered 415 by the gateway."""


def parse_body(content_type: str | None, raw: bytes) -> dict[str, Any]:
    media = (content_type or "").split(";")[0].strip().lower()
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        if media and media not in JSON_TYPES and media != FORM:
            raise UnsupportedMediaType(f"Unsupported content type {media!r}: send application/json or {FORM}") from None
        raise errors.InvalidRequest("Request body is not UTF-8") from None
    looks_like_json = text.lstrip().startswith(("{", "["))
    if media and media not in JSON_TYPES and media != FORM:
        # A JSON object is accepted whatever its label; anything else under a
        # foreign label is refused.
        if looks_like_json:
            try:
                return _json_object(text)
            except errors.InvalidRequest:
                pass
        raise UnsupportedMediaType(f"Unsupported content type {media!r}: send application/json or {FORM}")
    # A body that looks like JSON is JSON whatever its label; if it does not
    # parse it is malformed JSON, not a strange form.
    if media in JSON_TYPES or looks_like_json:
        return _json_object(text)
    return parse_rails_form(text)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # ValueError also covers ints past Python's digit limit
        raise errors.InvalidRequest("Malformed JSON body") from None
    if not isinstance(value, dict):
        raise errors.InvalidRequest("JSON body must be an object")
    if "\\u" in text:  # a lone surrogate can only come from a \u escape: the text itself is valid UTF-8
        _refuse_lone_surrogates(value)
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    """JSON may escape half a UTF-16 pair ("\\ud800"); no text field can hold it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.InvalidRequest("Request body holds invalid Unicode (a lone surrogate)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def parse_rails_form(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise errors.InvalidRequest(f"Form body has more than {MAX_FORM_FIELDS} fields") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = KEY.match(key)
        if not match:
            raise errors.InvalidRequest(f"Malformed form field name {key[:80]!r}")
        path = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        if len(path) > MAX_DEPTH:
            raise errors.InvalidRequest(f"Form field {key[:80]!r} is nested too deeply")
        _assign(root, path, value, key)
    return _lists_from_indexed(root)


def _assign(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    for i, part in enumerate(path):
        last = i == len(path) - 1
        nxt = None if last else path[i + 1]
        if part == "":
            raise errors.InvalidRequest(f"Malformed form field name {key[:80]!r}")
        if last:
            if isinstance(node.get(part), (dict, list)):
                raise errors.InvalidRequest(f"Form field {key[:80]!r} conflicts with another")
            node[part] = value
            return
        if nxt == "":  # name[] appends
            if i + 1 != len(path) - 1:
                raise errors.InvalidRequest(f"Unsupported form field {key[:80]!r}")
            existing = node.setdefault(part, [])
            if not isinstance(existing, list):
                raise errors.InvalidRequest(f"Form field {key[:80]!r} conflicts with another")
            existing.append(value)
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise errors.InvalidRequest(f"Form field {key[:80]!r} conflicts with another")
        node = child


def _lists_from_indexed(value: Any) -> Any:
    """{'0': a, '1': b} → [a, b]: Rails' indexed arrays."""
    if isinstance(value, dict):
        converted = {k: _lists_from_indexed(v) for k, v in value.items()}
        if converted and all(INDEX.fullmatch(k) for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    if isinstance(value, list):
        return [_lists_from_indexed(v) for v in value]
    return value
