"""snapshot_svc.charts: chart validation and the space/chart store, tenancy included."""

from __future__ import annotations

import math

import pytest

from chartsnap import errors
from snapshot_svc.charts import MAX_STREAMS, SpaceStore, validate_chart
from snapshot_svc.pagination import Page, page_from


def _fields(fields: dict, creating: bool = True, current: dict | None = None) -> dict[str, list[str]]:
    with pytest.raises(errors.InvalidParams) as info:
        validate_chart(fields, creating=creating, current=current)
    return info.value.fields


# -- validate_chart --------------------------------------------------------------------------------

def test_minimal_chart_gets_defaults():
    assert validate_chart({"name": " CPU "}, creating=True) == {
        "name": "CPU", "type": "line", "streams": [], "thresholds": [], "use_last_value": False}


def test_name_required_on_create():
    for fields in ({}, {"name": ""}, {"name": "   "}, {"name": None}, {"name": "n" * 256}):
        assert _fields(fields) == {"name": ["is required (1 to 255 characters)"]}
    assert validate_chart({"name": "n" * 255}, creating=True)["name"] == "n" * 255


def test_type_checked():
    for t in ("line", "stacked", "bignumber"):
        assert validate_chart({"name": "c", "type": t}, creating=True)["type"] == t
    assert _fields({"name": "c", "type": "pie"}) == {"type": ["must be one of line, stacked, bignumber"]}


def test_stream_defaults_ids_and_lowercase_metric():
    chart = validate_chart({"name": "c", "streams": [{"metric": "CPU.Load"}, {"metric": "mem", "source": "web*"}]},
                           creating=True)
    assert chart["streams"] == [
        {"id": 1, "metric": "cpu.load", "group_function": "average", "summary_function": "average"},
        {"id": 2, "metric": "mem", "source": "web*", "group_function": "average", "summary_function": "average"},
    ]


def test_stream_all_fields():
    (s,) = validate_chart({"name": "c", "streams": [{
        "metric": "cpu", "tags": [{"name": "env", "values": ["prod*", "", 5], "grouped": True},
                                  {"name": "host", "dynamic": True}],
        "group_function": "breakout", "summary_function": "count", "color": "#A1b2C3", "name": "CPU",
        "units_short": "%", "units_long": "percent", "transform_function": "x/100", "min": 0, "max": 100.5,
        "period": 60,
    }]}, creating=True)["streams"]
    assert s == {
        "id": 1, "metric": "cpu",
        "tags": [{"name": "env", "values": ["prod*"], "grouped": True},
                 {"name": "host", "values": [], "dynamic": True}],
        "group_function": "breakout", "summary_function": "count", "color": "#A1b2C3", "name": "CPU",
        "units_short": "%", "units_long": "percent", "transform_function": "x/100", "min": 0, "max": 100.5,
        "period": 60,
    }


def test_composite_streams_are_refused_clearly():
    fields = _fields({"name": "c", "streams": [{"metric": "a"}, {"composite": 's(["cpu"], "*")'}]})
    assert fields == {"streams[1].composite": ["composite streams are not supported yet"]}


@pytest.mark.parametrize("stream, field", [
    ({}, "streams[0].metric"),
    ({"metric": "cpu load"}, "streams[0].metric"),
    ({"metric": "m" * 256}, "streams[0].metric"),
    ({"metric": "cpu", "group_function": "median"}, "streams[0].group_function"),
    ({"metric": "cpu", "summary_function": "p99"}, "streams[0].summary_function"),
    ({"metric": "cpu", "color": "red"}, "streams[0].color"),
    ({"metric": "cpu", "color": "#ff000"}, "streams[0].color"),
    ({"metric": "cpu", "color": "#gg0000"}, "streams[0].color"),
    ({"metric": "cpu", "color": "ff0000"}, "streams[0].color"),
    ({"metric": "cpu", "color": 16711680}, "streams[0].color"),
    ({"metric": "cpu", "min": math.nan}, "streams[0].min"),
    ({"metric": "cpu", "max": "10"}, "streams[0].max"),
    ({"metric": "cpu", "max": True}, "streams[0].max"),
    ({"metric": "cpu", "tags": [{"values": ["x"]}]}, "streams[0].tags[0].name"),
    ({"metric": "cpu", "tags": [{"name": "env", "values": []}]}, "streams[0].tags[0].values"),
    ({"metric": "cpu", "tags": [{"name": "env", "values": ["", 3]}]}, "streams[0].tags[0].values"),
])
def test_bad_stream_fields_are_named(stream, field):
    assert list(_fields({"name": "c", "streams": [stream]})) == [field]


def test_too_many_streams():
    fields = _fields({"name": "c", "streams": [{"metric": f"m{i}"} for i in range(MAX_STREAMS + 1)]})
    assert fields == {"streams": [f"at most {MAX_STREAMS} streams per chart"]}
    chart = validate_chart({"name": "c", "streams": [{"metric": f"m{i}"} for i in range(MAX_STREAMS)]},
                           creating=True)
    assert len(chart["streams"]) == MAX_STREAMS


def test_thresholds():
    chart = validate_chart({"name": "c", "type": "bignumber", "thresholds": [
        {"operator": ">", "value": 90, "type": "red"}, {"operator": "<", "value": 1.5, "type": "yellow"},
        {"operator": "=", "value": 0, "type": "red"}]}, creating=True)
    assert chart["thresholds"] == [{"operator": ">", "value": 90, "type": "red"},
                                   {"operator": "<", "value": 1.5, "type": "yellow"},
                                   {"operator": "=", "value": 0, "type": "red"}]


def test_bad_thresholds_name_each_field():
    fields = _fields({"name": "c", "thresholds": [
        {"operator": ">", "value": 1, "type": "red"},
        {"operator": ">=", "value": math.inf, "type": "green"},
        {},
    ]})
    assert fields == {
        "thresholds[1].operator": ["must be >, < or ="],
        "thresholds[1].value": ["must be a finite number"],
        "thresholds[1].type": ["must be red or yellow"],
        "thresholds[2].operator": ["must be >, < or ="],
        "thresholds[2].value": ["must be a finite number"],
        "thresholds[2].type": ["must be red or yellow"],
    }


def test_chart_scalars():
    chart = validate_chart({"name": "c", "min": 0, "max": 100, "label": "L" * 300, "related_space": 4,
                            "use_last_value": 1}, creating=True)
    assert (chart["min"], chart["max"], chart["label"], chart["related_space"], chart["use_last_value"]) == (
        0, 100, "L" * 255, 4, True)
    assert _fields({"name": "c", "min": math.nan, "max": "x"}) == {
        "min": ["must be a finite number"], "max": ["must be a finite number"]}


def test_update_merges_into_current():
    current = validate_chart({"name": "Old", "type": "stacked", "min": 5, "streams": [{"metric": "cpu"}]},
                             creating=True)
    updated = validate_chart({"max": 10}, creating=False, current=current)
    assert updated == {**current, "max": 10}
    assert validate_chart({"min": None, "label": None}, creating=False, current=current)["min"] is None
    cleared = validate_chart({"streams": None, "thresholds": None}, creating=False, current=current)
    assert cleared["streams"] == [] and cleared["thresholds"] == [] and cleared["name"] == "Old"
    assert _fields({"name": ""}, creating=False, current=current) == {"name": ["is required (1 to 255 characters)"]}


def test_all_problems_are_reported_together():
    fields = _fields({"name": "", "type": "pie", "streams": [{"metric": "a b"}, {"metric": "ok", "color": "x"}],
                      "thresholds": [{"operator": "!", "value": 1, "type": "red"}], "min": "x"})
    assert set(fields) == {"name", "type", "streams[0].metric", "streams[1].color", "thresholds[0].operator", "min"}


# -- SpaceStore: spaces -------------------------------------------------------------------------------

@pytest.fixture
def store(db_engine) -> SpaceStore:
    return SpaceStore(db_engine)


def _page(offset=0, length=0, orderby="", sort="") -> Page:
    return page_from(offset, length, orderby, sort, ("id", "name"))


def test_create_and_get_space(store, acct):
    space = store.create_space(acct, "  Ops  ")
    assert space == {"id": space["id"], "name": "Ops", "chart_ids": []}
    assert store.get_space(acct, space["id"]) == space


@pytest.mark.parametrize("name", ["", "   ", None, "s" * 256])
def test_space_name_required(store, acct, name):
    with pytest.raises(errors.InvalidParams) as info:
        store.create_space(acct, name)
    assert info.value.fields == {"name": ["is required (1 to 255 characters)"]}


def test_duplicate_space_name_already_exists(store, acct, other_acct):
    store.create_space(acct, "Ops")
    with pytest.raises(errors.AlreadyExists):
        store.create_space(acct, "Ops")
    with pytest.raises(errors.AlreadyExists):
        store.create_space(acct, " Ops ")
    store.create_space(other_acct, "Ops")  # names are unique per account only


def test_update_space(store, acct):
    space = store.create_space(acct, "Ops")
    assert store.update_space(acct, space["id"], " Dev ")["name"] == "Dev"
    assert store.update_space(acct, space["id"], None)["name"] == "Dev"
    with pytest.raises(errors.InvalidParams):
        store.update_space(acct, space["id"], " ")
    assert store.get_space(acct, space["id"])["name"] == "Dev"


def test_update_space_to_a_taken_name(store, acct):
    store.create_space(acct, "Ops")
    dev = store.create_space(acct, "Dev")
    with pytest.raises(errors.AlreadyExists):
        store.update_space(acct, dev["id"], "Ops")
    assert store.get_space(acct, dev["id"])["name"] == "Dev"


def test_delete_space_deletes_its_charts(store, acct):
    space = store.create_space(acct, "Ops")
    chart = store.create_chart(acct, space["id"], {"name": "c"})
    store.delete_space(acct, space["id"])
    with pytest.raises(errors.NotFound):
        store.get_space(acct, space["id"])
    with pytest.raises(errors.NotFound):
        store.get_chart(acct, chart["id"])
    with pytest.raises(errors.NotFound):
        store.delete_space(acct, space["id"])


def test_list_spaces_pagination_and_filter(store, acct, other_acct):
    for name in ("beta", "Alpha", "gamma", "alphabet", "delta"):
        store.create_space(acct, name)
    store.create_space(other_acct, "alpha-other")
    found, total, items = store.list_spaces(acct, _page())
    assert (found, total) == (5, 5)
    assert [s["name"] for s in items] == ["beta", "Alpha", "gamma", "alphabet", "delta"]
    found, total, items = store.list_spaces(acct, _page(offset=1, length=2))
    assert (found, total, [s["name"] for s in items]) == (5, 5, ["Alpha", "gamma"])
    found, total, items = store.list_spaces(acct, _page(orderby="name", sort="desc"))
    assert [s["name"] for s in items] == ["gamma", "delta", "beta", "alphabet", "Alpha"]
    found, total, items = store.list_spaces(acct, _page(), name="ALPHA")
    assert (found, total, sorted(s["name"] for s in items)) == (2, 5, ["Alpha", "alphabet"])
    found, total, items = store.list_spaces(acct, _page(offset=10))
    assert (found, total, items) == (5, 5, [])


def test_page_from_validation():
    assert page_from(0, 0, "", "", ("id", "name")) == Page(0, 100, "id", False)
    with pytest.raises(errors.InvalidParams) as info:
        page_from(-1, 101, "color", "up", ("id", "name"))
    assert set(info.value.fields) == {"offset", "length", "orderby", "sort"}


# -- SpaceStore: charts -------------------------------------------------------------------------------------

def test_chart_crud(store, acct):
    space = store.create_space(acct, "Ops")
    created = store.create_chart(acct, space["id"], {"name": "CPU", "type": "stacked",
                                                     "streams": [{"metric": "cpu", "source": "*"}]})
    assert created["space_id"] == space["id"] and created["type"] == "stacked"
    got = store.get_chart(acct, created["id"])
    assert got["name"] == "CPU" and got["streams"] == created["streams"]
    assert store.get_chart(acct, created["id"], space["id"]) == got
    assert store.get_space(acct, space["id"])["chart_ids"] == [created["id"]]
    assert store.list_charts(acct, space["id"]) == [got]

    updated = store.update_chart(acct, space["id"], created["id"], {"name": "Load", "streams": []})
    assert (updated["name"], updated["streams"], updated["type"]) == ("Load", [], "stacked")
    assert store.get_chart(acct, created["id"])["name"] == "Load"

    store.delete_chart(acct, space["id"], created["id"])
    with pytest.raises(errors.NotFound):
        store.get_chart(acct, created["id"])
    assert store.list_charts(acct, space["id"]) == []


def test_invalid_chart_is_not_stored(store, acct):
    space = store.create_space(acct, "Ops")
    with pytest.raises(errors.InvalidParams):
        store.create_chart(acct, space["id"], {"name": "c", "streams": [{"composite": "x"}]})
    assert store.list_charts(acct, space["id"]) == []


def test_invalid_update_leaves_the_chart_alone(store, acct):
    space = store.create_space(acct, "Ops")
    chart = store.create_chart(acct, space["id"], {"name": "c", "type": "line"})
    with pytest.raises(errors.InvalidParams):
        store.update_chart(acct, space["id"], chart["id"], {"type": "pie"})
    assert store.get_chart(acct, chart["id"])["type"] == "line"


def test_chart_in_another_space_of_the_same_account_is_not_found_there(store, acct):
    a, b = store.create_space(acct, "A"), store.create_space(acct, "B")
    chart = store.create_chart(acct, a["id"], {"name": "c"})
    with pytest.raises(errors.NotFound):
        store.get_chart(acct, chart["id"], b["id"])
    with pytest.raises(errors.NotFound):
        store.update_chart(acct, b["id"], chart["id"], {"name": "x"})
    with pytest.raises(errors.NotFound):
        store.delete_chart(acct, b["id"], chart["id"])
    assert store.get_chart(acct, chart["id"])["name"] == "c"


def test_create_chart_in_a_missing_space(store, acct):
    with pytest.raises(errors.NotFound):
        store.create_chart(acct, 999, {"name": "c"})


# -- tenancy ----------------------------------------------------------------------------------------------------

def test_another_accounts_space_is_not_found(store, acct, other_acct):
    space = store.create_space(acct, "Ops")
    for call in (
        lambda: store.get_space(other_acct, space["id"]),
        lambda: store.update_space(other_acct, space["id"], "Mine now"),
        lambda: store.delete_space(other_acct, space["id"]),
        lambda: store.list_charts(other_acct, space["id"]),
        lambda: store.create_chart(other_acct, space["id"], {"name": "sneaky"}),
    ):
        with pytest.raises(errors.NotFound):
            call()
    assert store.get_space(acct, space["id"]) == {"id": space["id"], "name": "Ops", "chart_ids": []}
    assert store.list_spaces(other_acct, _page()) == (0, 0, [])


def test_another_accounts_chart_is_not_found(store, acct, other_acct):
    space = store.create_space(acct, "Ops")
    chart = store.create_chart(acct, space["id"], {"name": "c"})
    for call in (
        lambda: store.get_chart(other_acct, chart["id"]),
        lambda: store.get_chart(other_acct, chart["id"], space["id"]),
        lambda: store.update_chart(other_acct, space["id"], chart["id"], {"name": "x"}),
        lambda: store.delete_chart(other_acct, space["id"], chart["id"]),
    ):
        with pytest.raises(errors.NotFound):
            call()
    assert store.get_chart(acct, chart["id"])["name"] == "c"
