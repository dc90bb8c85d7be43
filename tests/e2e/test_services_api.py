"""The Services API: notification targets, validated on create and update."""

from __future__ import annotations

import pytest

from tests.e2e.api_client import Api

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

GOOD = {
    "mail": {"addresses": "a@example.com, b@example.org"},
    "slack": {"url": "https://hooks.slack.com/services/T000/B000/XXXX"},
    "hipchat": {"auth_token": "tok", "room_id": "42", "from": "Chart Snap_1.0", "notify": "1"},
    "flowdock": {"api_token": "f" * 32, "user_name": "chartsnap"},
    "campfire": {"subdomain": "acme", "token": "t0k", "room": "Ops Room"},
}


@pytest.mark.parametrize("kind", list(GOOD))
def test_crud_each_type(api: Api, kind: str) -> None:
    created = api.post("/v1/services", json={"title": f"{kind} target", "type": kind, "settings": GOOD[kind]})
    assert created.status_code == 201, created.text
    service = created.json()
    assert isinstance(service["id"], str) and created.headers["Location"] == f"/v1/services/{service['id']}"
    assert service["type"] == kind and service["title"] == f"{kind} target"
    assert api.get(f"/v1/services/{service['id']}").json() == service
    assert api.put(f"/v1/services/{service['id']}", json={"title": "renamed"}).status_code == 204
    assert api.get(f"/v1/services/{service['id']}").json()["title"] == "renamed"
    listed = api.get("/v1/services").json()
    assert service["id"] in [s["id"] for s in listed["services"]] and listed["query"]["total"] >= 1
    assert api.delete(f"/v1/services/{service['id']}").status_code == 204
    assert api.get(f"/v1/services/{service['id']}").status_code == 404


def test_form_encoded_create(api: Api) -> None:
    r = api.post("/v1/services", data={"title": "form", "type": "hipchat", "settings[auth_token]": "x",
                                       "settings[room_id]": "7", "settings[notify]": "0"})
    assert r.status_code == 201, r.text
    assert r.json()["settings"] == {"auth_token": "x", "room_id": "7", "notify": "0"}


@pytest.mark.parametrize("kind, settings, field", [
    ("mail", {}, "settings.addresses"),
    ("mail", {"addresses": "a@example.com, not-an-address"}, "settings.addresses"),
    ("mail", {"addresses": " , "}, "settings.addresses"),
    ("slack", {"url": "hooks.slack.com/no-scheme"}, "settings.url"),
    ("slack", {}, "settings.url"),
    ("hipchat", {"auth_token": "t", "room_id": "1", "from": "sixteen chars!!x"}, "settings.from"),
    ("hipchat", {"auth_token": "t", "room_id": "1", "from": "bad/char"}, "settings.from"),
    ("hipchat", {"auth_token": "t", "room_id": "1", "notify": "yes"}, "settings.notify"),
    ("hipchat", {"room_id": "1"}, "settings.auth_token"),
    ("hipchat", {"auth_token": "t", "room_id": "1", "server_url": "ftp://x"}, "settings.server_url"),
    ("flowdock", {"api_token": "t", "user_name": "has space"}, "settings.user_name"),
    ("flowdock", {"api_token": "t", "user_name": "x" * 16}, "settings.user_name"),
    ("flowdock", {"api_token": "t", "server_url": "not a url"}, "settings.server_url"),
    ("campfire", {"subdomain": "a", "token": "t"}, "settings.room"),
    ("campfire", {"subdomain": "a", "token": "t", "room": "r", "server_url": "//x"}, "settings.server_url"),
    ("slack", {"url": "https://x.test/hook", "color": "red"}, "settings.color"),
])
def test_each_settings_rule(api: Api, kind: str, settings: dict, field: str) -> None:
    r = api.post("/v1/services", json={"title": "bad", "type": kind, "settings": settings})
    assert r.status_code == 400, r.text
    assert field in r.json()["errors"]["params"], r.json()


def test_unknown_type_and_missing_title(api: Api) -> None:
    r = api.post("/v1/services", json={"title": "x", "type": "pager", "settings": {}})
    assert r.status_code == 400 and "type" in r.json()["errors"]["params"]
    r = api.post("/v1/services", json={"type": "slack", "settings": GOOD["slack"]})
    assert r.status_code == 400 and "title" in r.json()["errors"]["params"]


def test_update_validates_too(api: Api) -> None:
    sid = api.post("/v1/services", json={"title": "h", "type": "hipchat", "settings": GOOD["hipchat"]}).json()["id"]
    r = api.put(f"/v1/services/{sid}", json={"settings": {**GOOD["hipchat"], "notify": "2"}})
    assert r.status_code == 400 and "settings.notify" in r.json()["errors"]["params"]
    assert api.get(f"/v1/services/{sid}").json()["settings"]["notify"] == "1"


def test_snapshot_naming_unknown_or_foreign_services_is_refused(api: Api) -> None:
    _, chart_id = api.make_chart("With services", "line", [{"metric": "m"}])
    for services in (["999999"], ["abc"], ["1", "1"]):
        r = api.post("/v1/snapshots", json={"subject": {"chart": {"id": chart_id, "type": "line"}},
                                            "services": services})
        assert r.status_code == 400 and "services" in r.json()["errors"]["params"], r.text
