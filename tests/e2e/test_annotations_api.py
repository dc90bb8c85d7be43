"""The annotations API through the gateway, as Librato documents it (request
and reply shapes, status codes, Location), with the real `librato-metrics`
Python client, and what an attacker might send."""

from __future__ import annotations

import time
import uuid

import librato
import pytest

from tests.conftest import add_account
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

T0 = 1_700_000_000


def stream_name(prefix: str = "deploys") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_create_as_the_documentation_does_then_read_update_delete(api: Api) -> None:
    name = stream_name("api-deploys")
    # The documentation's form-encoded curl, links as Rails-style nested fields.
    created = api.post(f"/v1/annotations/{name}", data={
        "title": "My Annotation", "description": "Joe deployed v29 to metrics", "start_time": str(T0),
        "links[0][label]": "Metrics Gem", "links[0][href]": "https://github.com/librato/librato-metrics",
        "links[0][rel]": "github"})
    assert created.status_code == 201, created.text
    event = created.json()
    assert created.headers["Location"] == f"/v1/annotations/{name}/{event['id']}"
    assert event == {"id": event["id"], "title": "My Annotation", "description": "Joe deployed v29 to metrics",
                     "source": None, "start_time": T0, "end_time": None,
                     "links": [{"rel": "github", "href": "https://github.com/librato/librato-metrics",
                                "label": "Metrics Gem"}]}
    assert api.get(created.headers["Location"]).json() == event

    # JSON too, with a source, a span and an ISO 8601 time.
    span = api.post(f"/v1/annotations/{name}", json={
        "title": "Chef run finished", "source": "foo3.bar.com", "start_time": "2023-11-14T22:13:30Z",
        "end_time": T0 + 60})
    assert span.status_code == 201, span.text
    assert span.json()["start_time"] == T0 + 10 and span.json()["end_time"] == T0 + 60

    stream = api.get(f"/v1/annotations/{name}").json()
    assert stream["name"] == name and stream["display_name"] is None
    assert stream["query"] == {"found": 2, "length": 2, "offset": 0, "total": 2}
    [groups] = stream["events"]
    assert [e["title"] for e in groups["unassigned"]] == ["My Annotation"]
    assert [e["title"] for e in groups["foo3.bar.com"]] == ["Chef run finished"]

    assert api.put(f"/v1/annotations/{name}", data={"display_name": "Deploys to API"}).status_code == 204
    listed = api.get("/v1/annotations", params={"name": name}).json()
    assert listed["query"]["found"] == 1
    assert listed["annotations"] == [{"name": name, "display_name": "Deploys to API", "description": None}]

    assert api.put(created.headers["Location"],
                   data={"description": "Deployed git SHA 601060a68ff2e", "end_time": str(T0 + 5)}).status_code == 204
    updated = api.get(created.headers["Location"]).json()
    assert updated["description"] == "Deployed git SHA 601060a68ff2e" and updated["end_time"] == T0 + 5
    assert api.put(created.headers["Location"], json={"end_time": None}).status_code == 204
    assert api.get(created.headers["Location"]).json()["end_time"] is None

    link = api.post(f"{created.headers['Location']}/links",
                    data={"rel": "jenkins", "label": "CI", "href": "http://ci.acme.com/job/api/34"})
    assert link.status_code == 201, link.text
    assert link.headers["Location"] == f"{created.headers['Location']}/links/jenkins"
    assert link.json() == {"rel": "jenkins", "href": "http://ci.acme.com/job/api/34", "label": "CI"}
    again = api.post(f"{created.headers['Location']}/links", data={"rel": "jenkins", "href": "http://x.test/"})
    assert again.status_code == 422, again.text
    assert api.delete(f"{created.headers['Location']}/links/github").status_code == 204
    assert [x["rel"] for x in api.get(created.headers["Location"]).json()["links"]] == ["jenkins"]
    assert api.delete(f"{created.headers['Location']}/links/github").status_code == 404

    assert api.delete(created.headers["Location"]).status_code == 204
    assert api.get(created.headers["Location"]).status_code == 404
    assert api.delete(f"/v1/annotations/{name}").status_code == 204
    assert api.get(f"/v1/annotations/{name}").status_code == 404
    assert api.get(f"/v1/annotations/{name}/{span.json()['id']}").status_code == 404


def test_start_time_defaults_to_now(api: Api) -> None:
    before = int(time.time())
    event = api.post(f"/v1/annotations/{stream_name()}", json={"title": "now"}).json()
    assert before <= event["start_time"] <= int(time.time()) + 1


def test_a_streams_events_by_window_sources_and_page(api: Api) -> None:
    name = stream_name("blog-posts")
    for i, source in enumerate(["db1.acme", "db2.acme", "web1", None, "db1.acme"]):
        body = {"title": f"post {i}", "start_time": T0 + 100 * i, **({"source": source} if source else {})}
        assert api.post(f"/v1/annotations/{name}", json=body).status_code == 201
    # The documentation's query: a window and sources[] (wildcards allowed).
    found = api.get(f"/v1/annotations/{name}", params=[
        ("start_time", T0 + 50), ("end_time", T0 + 400), ("sources[]", "db*"), ("sources[]", "web1")]).json()
    [groups] = found["events"]
    assert {s: [e["title"] for e in events] for s, events in groups.items()} == {
        "db2.acme": ["post 1"], "web1": ["post 2"], "db1.acme": ["post 4"]}
    assert found["query"] == {"found": 3, "length": 3, "offset": 0, "total": 5}
    page = api.get(f"/v1/annotations/{name}", params={"offset": 1, "length": 2}).json()
    titles = [e["title"] for events in page["events"][0].values() for e in events]
    assert sorted(titles) == ["post 1", "post 2"]
    assert page["query"] == {"found": 5, "length": 2, "offset": 1, "total": 5}
    empty = api.get(f"/v1/annotations/{name}", params={"start_time": T0 + 10_000, "end_time": T0 + 20_000})
    assert empty.json()["events"] == [] and empty.json()["query"]["found"] == 0


def test_streams_are_listed_by_name_a_page_at_a_time(api: Api) -> None:
    prefix = f"list-{uuid.uuid4().hex[:6]}"
    for suffix in ("c", "a", "b"):
        assert api.post(f"/v1/annotations/{prefix}-{suffix}", json={"title": "t"}).status_code == 201
    listed = api.get("/v1/annotations", params={"name": prefix, "length": 2}).json()
    assert [s["name"] for s in listed["annotations"]] == [f"{prefix}-a", f"{prefix}-b"]
    assert listed["query"]["found"] == 3 and listed["query"]["length"] == 2
    rest = api.get("/v1/annotations", params={"name": prefix, "offset": 2}).json()
    assert [s["name"] for s in rest["annotations"]] == [f"{prefix}-c"]
    desc = api.get("/v1/annotations", params={"name": prefix, "sort": "desc"}).json()
    assert [s["name"] for s in desc["annotations"]] == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]
    assert api.get("/v1/annotations", params={"orderby": "id"}).status_code == 400


@pytest.mark.parametrize("body, field", [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 256}, "title"),
    ({"title": "t", "start_time": "yesterday"}, "start_time"),
    ({"title": "t", "start_time": T0, "end_time": T0 - 1}, "end_time"),
    ({"title": "t", "links": [{"rel": "x", "href": "javascript:alert(document.cookie)"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "JaVaScRiPt:alert(1)"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "data:text/html,<script>alert(1)</script>"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "https://user:secret@example.com/"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "http://exa mple.com/"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "//example.com/no-scheme"}]}, "links[0].href"),
    ({"title": "t", "links": [{"rel": "x", "href": "https://example.com/" + "a" * 2000}]}, "links[0].href"),
    ({"title": "t", "links": [{"href": "https://example.com/"}]}, "links[0].rel"),
    ({"title": "t", "links": [{"rel": "x", "href": "https://a.test/"}, {"rel": "x", "href": "https://b.test/"}]},
     "links[1].rel"),
    ({"title": "t", "links": [{"rel": f"r{i}", "href": "https://a.test/"} for i in range(21)]}, "links"),
    ({"title": "t", "links": "https://example.com/"}, "links"),
    ({"title": "t", "links": ["https://example.com/"]}, "links[0]"),
    ({"title": "t\u0000"}, "title"),
    ({"title": {"nested": 1}}, "title"),
])
def test_bad_events_are_400s_naming_the_field(api: Api, body: dict, field: str) -> None:
    r = api.post(f"/v1/annotations/{stream_name('bad')}", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["errors"]["params"], r.json()


def test_a_huge_list_of_links_is_refused_not_stored(api: Api) -> None:
    name = stream_name("huge")
    links = [{"rel": f"r{i}", "href": f"https://example.com/{i}"} for i in range(20_000)]
    r = api.post(f"/v1/annotations/{name}", json={"title": "t", "links": links})
    assert r.status_code in (400, 413), r.text
    assert "errors" in r.json()
    assert api.get(f"/v1/annotations/{name}").status_code == 404  # nothing made, not even the stream


@pytest.mark.parametrize("path", [
    "/v1/annotations/has%20space", "/v1/annotations/" + "a" * 300, "/v1/annotations/x/not-an-id",
    "/v1/annotations/x/99999999999999999999", "/v1/annotations/%2e%2e",
])
def test_names_and_ids_that_cannot_exist_are_404s(api: Api, path: str) -> None:
    r = api.get(path)
    assert r.status_code == 404, r.text
    assert "errors" in r.json()


def test_a_bad_stream_name_on_create_is_a_400(api: Api) -> None:
    r = api.post("/v1/annotations/bad%20name!", json={"title": "t"})
    assert r.status_code == 400 and "name" in r.json()["errors"]["params"]


def test_names_are_case_insensitive(api: Api) -> None:
    name = stream_name("Mixed")
    event = api.post(f"/v1/annotations/{name}", json={"title": "t"}).json()
    assert api.get(f"/v1/annotations/{name.lower()}/{event['id']}").status_code == 200
    assert api.get(f"/v1/annotations/{name.upper()}").json()["name"] == name.lower()


def test_another_accounts_streams_and_events_are_404s(api: Api, stack) -> None:  # noqa: ANN001
    name = stream_name("private")
    event = api.post(f"/v1/annotations/{name}", json={"title": "secret deploy"}).json()
    email, token = add_account(stack)
    intruder = Api(api.base, email, token)
    assert intruder.get(f"/v1/annotations/{name}").status_code == 404
    assert intruder.get(f"/v1/annotations/{name}/{event['id']}").status_code == 404
    assert intruder.put(f"/v1/annotations/{name}/{event['id']}", json={"title": "mine"}).status_code == 404
    assert intruder.delete(f"/v1/annotations/{name}/{event['id']}").status_code == 404
    assert intruder.delete(f"/v1/annotations/{name}").status_code == 404
    assert name not in [s["name"] for s in intruder.get("/v1/annotations", params={"name": name}).json()
                        ["annotations"]]
    # Their own stream of the same name is theirs alone.
    assert intruder.post(f"/v1/annotations/{name}", json={"title": "theirs"}).status_code == 201
    [groups] = api.get(f"/v1/annotations/{name}").json()["events"]
    assert [e["title"] for e in groups["unassigned"]] == ["secret deploy"]


def test_without_credentials_every_route_is_401(api: Api) -> None:
    for method, path in [("GET", "/v1/annotations"), ("POST", "/v1/annotations/x"), ("GET", "/v1/annotations/x"),
                         ("DELETE", "/v1/annotations/x/1")]:
        r = api.request(method, path, auth=None)
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers, (method, path)


def test_html_in_titles_is_stored_as_text_and_answered_as_json(api: Api) -> None:
    name = stream_name("xss")
    title = '<img src=x onerror="alert(1)">'
    r = api.post(f"/v1/annotations/{name}", json={"title": title})
    assert r.status_code == 201 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["title"] == title


@pytest.fixture(scope="module")
def client(stack, account):  # noqa: ANN001, ANN201
    email, token = account
    return librato.connect(email, token, hostname=stack.gateway_url.removeprefix("http://"), protocol="http")


def test_the_librato_python_client(client, api: Api) -> None:  # noqa: ANN001
    name = stream_name("client")
    event = client.post_annotation(name, title="Deployed v56", source="foo3.bar.com",
                                   description="v56 - Fixed typo in page titles", start_time=T0,
                                   links=[{"rel": "github", "href": "https://github.com/librato/librato-metrics"}])
    assert event["title"] == "Deployed v56" and event["start_time"] == T0
    assert event["links"][0]["href"] == "https://github.com/librato/librato-metrics"
    client.post_annotation(name, title="Chef run", source="db1.acme", start_time=T0 + 5)
    stream = client.get_annotation_stream(name, start_time=T0 - 1)
    assert stream.name == name
    assert [e["title"] for e in stream.events[0]["foo3.bar.com"]] == ["Deployed v56"]
    narrowed = client.get_annotation_stream(name, start_time=T0 - 1, end_time=T0 + 10, sources=["db*"])
    assert list(narrowed.events[0]) == ["db1.acme"]  # the client sends sources[]=db*
    assert name in [s.name for s in client.list_annotation_streams(name=name)]
    client.delete_annotation_stream(name)
    assert api.get(f"/v1/annotations/{name}").status_code == 404


def test_an_overlong_stream_name_on_create_is_a_400(api: Api) -> None:
    r = api.post("/v1/annotations/" + "a" * 256, json={"title": "t"})
    assert r.status_code == 400 and "name" in r.json()["errors"]["params"]
