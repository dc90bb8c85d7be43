"""Hostile input through the live gateway: every case is answered with a 4xx
in the contract's error shape (or, for data that is merely extreme, a 2xx),
always strict JSON, never a 5xx, and never quoting the request back.

Bound: every response < 500. The module counts the hostile requests it sent
(HOSTILE) and its last test asserts that count and zero responses ≥ 500."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest
import requests

from chartsnap import bounds, request_ids
from devstack.processes import Stack
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

HOSTILE = {"sent": 0, "server_errors": 0}
SECRET = "s3cr3t-token-that-must-never-come-back"


def _reject_constant(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


def strict_json(text: str):  # noqa: ANN201 - any JSON value
    """json.loads without Python's Infinity/NaN extensions."""
    return json.loads(text, parse_constant=_reject_constant)


def count(status: int) -> None:
    HOSTILE["sent"] += 1
    if status >= 500:
        HOSTILE["server_errors"] += 1


@pytest.fixture(scope="module")
def api(stack: Stack, account: tuple[str, str]) -> Api:
    return Api(stack.gateway_url, *account)


def send(api: Api, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
    response = api.request(method, path, **kwargs)
    count(response.status_code)
    return response


def assert_error(response: requests.Response, status: int | tuple[int, ...] = (400,), kind: str | None = None) -> dict:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = strict_json(response.text)
    assert set(body) == {"errors"} and len(body["errors"]) == 1, body
    if kind is not None:
        assert kind in body["errors"], body
    return body["errors"]


def raw_http(stack: Stack, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (requests would refuse or fix them)."""
    with socket.create_connection(("127.0.0.1", stack.ports.gateway), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    count(status)
    return status, headers, body


def basic(api: Api) -> bytes:
    return b"Basic " + base64.b64encode(f"{api.email}:{api.token}".encode())


@pytest.fixture(scope="module")
def chart(api: Api) -> tuple[int, int]:
    return api.make_chart("Hostile", "line", [{"metric": "hostile.metric"}])


# -- Authorization -------------------------------------------------------------

@pytest.mark.parametrize("header", [
    b"Basic \xc3\xa9\xc3\xa9\xc3\xa9",            # UTF-8 bytes
    b"Basic \xff\xfe\xfd",                        # not UTF-8 at all
    "Basic ".encode() + base64.b64encode("é@x.com:é".encode()),  # non-ASCII credentials, well encoded
    b"Basic dXNlcjpwYXNz\x7f",                    # DEL
    b"B\xe4sic abc",
])
def test_non_ascii_authorization_is_a_401(stack: Stack, header: bytes) -> None:
    status, headers, body = raw_http(stack, b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: " + header
                                     + b"\r\nConnection: close\r\n\r\n")
    assert status in (400, 401), body
    assert headers["content-type"].startswith("application/json")
    assert "errors" in strict_json(body.decode())


@pytest.mark.parametrize("user_chars", [3000, 6000])
def test_a_long_authorization_that_aiohttp_accepts_is_a_401(api: Api, user_chars: int) -> None:
    """Near aiohttp's 8 KB line limit: it becomes gRPC metadata of the same size."""
    r = send(api, "GET", "/v1/spaces", auth=("u" * user_chars + "@example.com", "wrong"))
    assert_error(r, 401, "request")


def test_latin1_authorization_through_requests_is_a_401(api: Api) -> None:
    r = send(api, "GET", "/v1/spaces", auth=None, headers={"Authorization": "Basic ÿÿÿÿ"})
    assert_error(r, 401, "request")


# -- many or long field errors ---------------------------------------------------

def test_too_many_settings_keys_is_a_400_naming_settings(api: Api) -> None:
    settings = {f"unknown_{i}": "x" for i in range(100)}
    errors = assert_error(send(api, "POST", "/v1/services", json={"title": "t", "type": "slack",
                                                                   "settings": settings}), 400, "params")
    assert list(errors["params"]) == ["settings"]


def test_many_long_unknown_settings_are_bounded_in_the_reply(api: Api) -> None:
    settings = {f"{'k' * 300}{i}": "v" * 1900 for i in range(bounds.MAX_SETTINGS)}
    settings["url"] = "not a url"
    errors = assert_error(send(api, "POST", "/v1/services", json={"title": "t", "type": "slack",
                                                                   "settings": settings}), 400, "params")
    assert len(errors["params"]) <= bounds.MAX_ERROR_FIELDS + 1


def test_twenty_invalid_streams_are_a_400_with_bounded_fields(api: Api, chart: tuple[int, int]) -> None:
    space_id, _ = chart
    streams = [{"metric": "bad metric name " * 10, "color": "red" * 50, "group_function": "nope" * 50,
                "summary_function": "nope", "tags": [{"name": "", "values": []}]} for _ in range(20)]
    errors = assert_error(send(api, "POST", f"/v1/spaces/{space_id}/charts",
                               json={"name": "bad", "streams": streams}), 400, "params")
    assert len(errors["params"]) == bounds.MAX_ERROR_FIELDS + 1
    assert bounds.MORE_FIELD in errors["params"]


def test_a_batch_of_bad_samples_is_a_bounded_400(api: Api) -> None:
    samples = [{"name": "bad name!", "value": "x"} for _ in range(2000)]
    errors = assert_error(send(api, "POST", "/v1/measurements", json={"measurements": samples}), 400, "params")
    assert len(errors["params"]) == bounds.MAX_ERROR_FIELDS + 1


# -- numbers -----------------------------------------------------------------

def test_numbers_past_librato_bound_are_refused_and_sums_stay_json(api: Api) -> None:
    # Librato refuses a magnitude above 1e126, so no sum of samples reaches the float range's end
    # (views.finite_or_none would answer null for one); the largest accepted sum is strict JSON.
    now = int(time.time())
    r = send(api, "POST", "/v1/measurements", json={"measurements": [
        {"name": "hostile.huge", "value": 1.7e308, "time": now - 30, "tags": {"host": "a"}}]})
    errors = assert_error(r, 400, "params")
    assert errors["params"] == {"measurements[0]": ["value must be at most 1e+126 in magnitude"]}
    samples = [{"name": "hostile.huge", "value": 1e126, "time": now - 30, "tags": {"host": h}} for h in ("a", "b")]
    r = send(api, "POST", "/v1/measurements", json={"measurements": samples})
    assert r.status_code == 202, r.text
    for query in ("group_by=*&group_by_function=sum", "summary_function=sum&resolution=3600"):
        r = send(api, "GET", f"/v1/measurements/hostile.huge?duration=600&{query}")
        assert r.status_code == 200, r.text
        body = strict_json(r.text)  # would fail on Infinity
        values = [p["value"] for s in body["series"] for p in s["measurements"]]
        assert values and all(abs(v) < float("inf") for v in values)


@pytest.mark.parametrize("body", [
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "duration": 1e400}',
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "duration": -1e400}',
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "duration": NaN}',
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "width": 100000000000000000000000000000}',
    '{"subject": {"chart": {"id": 99999999999999999999999999, "type": "line"}}}',
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "end_time": 1e300}',
    '{"subject": {"chart": {"id": 1, "type": "line"}}, "duration": ' + "9" * 5000 + "}",
])
def test_huge_numbers_in_a_snapshot(api: Api, body: str) -> None:
    assert_error(send(api, "POST", "/v1/snapshots", data=body, headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_chart_numbers(api: Api, chart: tuple[int, int], value: str) -> None:
    space_id, _ = chart
    body = '{"name": "n", "min": %s, "streams": [{"metric": "m", "max": %s}], ' \
           '"thresholds": [{"operator": ">", "value": %s, "type": "red"}]}' % (value, value, value)
    errors = assert_error(send(api, "POST", f"/v1/spaces/{space_id}/charts", data=body,
                               headers={"Content-Type": "application/json"}), 400, "params")
    assert {"min", "streams[0].max", "thresholds[0].value"} <= set(errors["params"])


@pytest.mark.parametrize("query", ["offset=1e9999", "length=-1", "length=99999999999999999999", "offset=%00",
                                   "sort=%ff%fe", "orderby=" + "x" * 5000])
def test_hostile_page_parameters(api: Api, query: str) -> None:
    r = send(api, "GET", f"/v1/spaces?{query}")
    assert r.status_code in (200, 400), r.text
    strict_json(r.text)


# -- nesting -------------------------------------------------------------------

@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_json_nesting(api: Api, depth: int) -> None:
    body = '{"subject": ' + "[" * depth + "]" * depth + "}"
    assert_error(send(api, "POST", "/v1/snapshots", data=body, headers={"Content-Type": "application/json"}),
                 400)


def test_deep_form_nesting(api: Api) -> None:
    key = "subject" + "[a]" * 50
    assert_error(send(api, "POST", "/v1/snapshots", data=f"{key}=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}), 400, "request")


# -- unbounded lists -------------------------------------------------------------

def test_a_hundred_thousand_tag_values_in_a_snapshot(api: Api, chart: tuple[int, int]) -> None:
    _, chart_id = chart
    tags = [{"name": "host", "values": [f"h{i}" for i in range(100_000)]}]
    errors = assert_error(send(api, "POST", "/v1/snapshots", json={
        "subject": {"chart": {"id": chart_id, "type": "line", "tags": tags}}}), 400, "params")
    assert list(errors["params"]) == ["subject.chart.tags[0].values"]


def test_a_hundred_thousand_tag_values_in_a_stream(api: Api, chart: tuple[int, int]) -> None:
    space_id, _ = chart
    streams = [{"metric": "m", "tags": [{"name": "host", "values": [f"h{i}" for i in range(100_000)]}]}]
    errors = assert_error(send(api, "POST", f"/v1/spaces/{space_id}/charts",
                               json={"name": "n", "streams": streams}), 400, "params")
    assert list(errors["params"]) == ["streams[0].tags[0].values"]


@pytest.mark.parametrize("field, make", [
    ("subject.chart.tags", lambda chart_id: {"subject": {"chart": {
        "id": chart_id, "type": "line", "tags": [{"name": f"t{i}", "values": ["*"]} for i in range(bounds.MAX_TAG_FILTERS + 1)]}}}),
    ("services", lambda chart_id: {"subject": {"chart": {"id": chart_id, "type": "line"}},
                                   "services": [str(i) for i in range(bounds.MAX_SNAPSHOT_SERVICES + 1)]}),
])
def test_snapshot_list_bounds(api: Api, chart: tuple[int, int], field: str, make) -> None:  # noqa: ANN001
    errors = assert_error(send(api, "POST", "/v1/snapshots", json=make(chart[1])), 400, "params")
    assert list(errors["params"]) == [field]


@pytest.mark.parametrize("field, body", [
    ("streams", {"name": "n", "streams": [{"metric": "m"}] * (bounds.MAX_STREAMS + 1)}),
    ("thresholds", {"name": "n", "type": "bignumber",
                    "thresholds": [{"operator": ">", "value": 1, "type": "red"}] * (bounds.MAX_THRESHOLDS + 1)}),
    ("streams[0].tags", {"name": "n", "streams": [
        {"metric": "m", "tags": [{"name": f"t{i}", "values": ["*"]} for i in range(bounds.MAX_TAG_FILTERS + 1)]}]}),
])
def test_chart_list_bounds(api: Api, chart: tuple[int, int], field: str, body: dict) -> None:
    errors = assert_error(send(api, "POST", f"/v1/spaces/{chart[0]}/charts", json=body), 400, "params")
    assert list(errors["params"]) == [field]


def test_measurement_list_bounds(api: Api) -> None:
    errors = assert_error(send(api, "POST", "/v1/measurements", json={
        "measurements": [{"name": "m", "value": 1}] * (bounds.MAX_BATCH + 1)}), 400, "params")
    assert list(errors["params"]) == ["measurements"]
    errors = assert_error(send(api, "POST", "/v1/measurements", json={
        "tags": {f"t{i}": "v" for i in range(bounds.MAX_MEASUREMENT_TAGS + 1)},
        "measurements": [{"name": "m", "value": 1}]}), 400, "params")
    assert list(errors["params"]) == ["tags"]
    query = "&".join(f"tags[t{i}]=v" for i in range(bounds.MAX_QUERY_TAGS + 1))
    errors = assert_error(send(api, "GET", f"/v1/measurements/m?duration=60&{query}"), 400, "params")
    assert list(errors["params"]) == ["tags"]


def test_bounds_at_the_limit_are_accepted(api: Api, chart: tuple[int, int]) -> None:
    space_id, chart_id = chart
    tags = [{"name": "host", "values": [f"h{i}" for i in range(bounds.MAX_TAG_VALUES)]}]
    r = send(api, "POST", "/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line", "tags": tags}}})
    assert r.status_code == 202, r.text
    r = send(api, "POST", f"/v1/spaces/{space_id}/charts",
             json={"name": "max", "streams": [{"metric": f"m{i}"} for i in range(bounds.MAX_STREAMS)]})
    assert r.status_code == 201, r.text


# -- Unicode everywhere ------------------------------------------------------------

UNICODE = ["💥" * 300, "\u202egnp.txe", "\u0000nul", "a\u0301" * 200, "\ufeffbom", "\U0010ffff", "\\ud800"]


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_in_every_field(api: Api, chart: tuple[int, int], text: str) -> None:
    space_id, chart_id = chart
    raw = text if text != "\\ud800" else None  # a lone surrogate only exists as a JSON escape
    bodies = [
        ("POST", "/v1/spaces", {"name": raw}),
        ("POST", f"/v1/spaces/{space_id}/charts", {"name": raw, "type": raw, "label": raw,
                                                   "streams": [{"metric": raw, "source": raw, "color": raw,
                                                                "tags": [{"name": raw, "values": [raw]}]}]}),
        ("POST", "/v1/snapshots", {"subject": {"chart": {"id": chart_id, "type": raw, "source": raw,
                                                         "tags": [{"name": raw, "values": [raw]}]}},
                                   "message": raw, "services": [raw], "end_time": raw}),
        ("POST", "/v1/measurements", {"tags": {raw or "k": raw}, "measurements": [{"name": raw, "value": 1,
                                                                                  "tags": {raw or "k": raw}}]}),
        ("POST", "/v1/services", {"title": raw, "type": raw, "settings": {raw or "k": raw}}),
    ]
    for method, path, body in bodies:
        data = json.dumps(body)
        if raw is None:
            data = data.replace("null", '"\\ud800"')
        r = send(api, method, path, data=data.encode(), headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
        strict_json(r.text)
        if r.status_code >= 400:
            assert_error(r, r.status_code)
    for path in (f"/v1/measurements/{text}", f"/v1/spaces?name={text}", f"/v1/measurements/m?duration=60&tags[{text}]={text}"):
        r = send(api, "GET", path)
        assert r.status_code < 500, (path, r.text[:300])
        strict_json(r.text)


# -- path ids --------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/v1/snapshots/99999999999999999999", "/v1/snapshots/-1", "/v1/snapshots/0", "/v1/jobs/9223372036854775808",
    "/v1/jobs/1e3", "/v1/spaces/abc", "/v1/spaces/%00", "/v1/spaces/1/charts/99999999999999999999",
    "/v1/services/%ed%a0%80", "/v1/services/99999999999999999999", "/v1/services/💥",
    "/v1/measurements/" + "m" * 5000, "/v1/no-such-route", "/v1/spaces/1/charts/1/extra",
])
def test_path_ids_out_of_range(api: Api, path: str) -> None:
    assert_error(send(api, "GET", path), (400, 404), "request" if "measurements" not in path else None)


def test_wrong_method_is_a_405_in_the_error_shape(api: Api) -> None:
    assert_error(send(api, "PATCH", "/v1/spaces"), 405, "request")


# -- protocol level ------------------------------------------------------------------

@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /v1/spaces HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
    b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nX Bad Name: 1\r\n\r\n",
    b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /v1/" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_protocol_errors_are_json_and_quote_nothing(stack: Stack, request_bytes: bytes) -> None:
    status, headers, body = raw_http(stack, request_bytes)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert strict_json(body.decode()) == {"errors": {"request": ["Malformed HTTP request (Bad Request)"]}}
    assert request_ids.sane(headers["x-request-id"]), "answered before any middleware, still with a request id"


def test_a_too_long_header_does_not_echo_the_authorization_header(stack: Stack, api: Api) -> None:
    secret_auth = b"Basic " + base64.b64encode(f"{api.email}:{SECRET}".encode())
    request_bytes = (b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: " + secret_auth
                     + b"\r\nX-Long: " + b"z" * 20000 + b"\r\n\r\n")
    status, headers, body = raw_http(stack, request_bytes)
    assert status == 400 and headers["content-type"].startswith("application/json")
    assert SECRET.encode() not in body and secret_auth not in body and b"zzzz" not in body
    # The same with the secret on the line that is too long.
    status, _, body = raw_http(stack, b"GET /v1/spaces HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                               + base64.b64encode(f"{api.email}:{SECRET * 500}".encode()) + b"\r\n\r\n")
    assert status == 400 and base64.b64encode(SECRET.encode())[:20] not in body


@pytest.mark.parametrize("headers, payload", [
    (b"Transfer-Encoding: chunked\r\n", b"zz\r\nnot a chunk\r\n"),
    (b"Content-Encoding: gzip\r\nContent-Length: 5\r\n", b"hello"),
    (b"Content-Encoding: deflate\r\nContent-Length: 5\r\n", b"\x00\x01\x02\x03\x04"),
])
def test_broken_bodies_with_good_credentials(stack: Stack, api: Api, headers: bytes, payload: bytes) -> None:
    status, response_headers, body = raw_http(
        stack, b"POST /v1/spaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
        b"Authorization: " + basic(api) + b"\r\n" + headers + b"\r\n" + payload)
    assert status == 400, body
    assert response_headers["content-type"].startswith("application/json")
    assert "errors" in strict_json(body.decode())


def test_a_compressed_body_past_the_limit_is_a_413(api: Api) -> None:
    import gzip

    bomb = gzip.compress(b'{"name": "' + b"a" * (8 * 1024 * 1024) + b'"}')
    r = send(api, "POST", "/v1/spaces", data=bomb,
             headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert_error(r, 413, "request")


# -- the count ----------------------------------------------------------------------

def test_every_hostile_request_was_answered_below_500() -> None:
    """Runs last (pytest keeps file order): the bound of the whole module."""
    assert HOSTILE["sent"] >= 120, HOSTILE  # 129 when written; fewer means cases stopped running
    assert HOSTILE["server_errors"] == 0, HOSTILE
