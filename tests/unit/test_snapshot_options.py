"""A snapshot's drawing options (timezone, scale, theme, annotations): the
gateway's type checks (gateway.translate) and the service's rules
(snapshot_svc.snapshots.validate over chartsnap.snapshot_options and
snapshot_svc.annotation_rules), good values and hostile ones, each refusal
naming its field."""

from __future__ import annotations

import pytest

from chartsnap import errors
from chartsnap.bounds import MAX_SNAPSHOT_ANNOTATIONS
from chartsnap.v1 import snapshots_pb2
from gateway import translate
from snapshot_svc.grpc_api import idempotency_claim
from snapshot_svc.snapshots import SnapshotInput, validate

NOW = 1_700_000_000.0


def _valid(**options):  # noqa: ANN003, ANN202
    return validate(SnapshotInput(1, "line", **options), NOW)


def _refused(**options) -> dict[str, list[str]]:  # noqa: ANN003
    with pytest.raises(errors.InvalidParams) as caught:
        _valid(**options)
    return caught.value.fields


def test_defaults_are_utc_scale_one_light_and_no_annotations():
    valid = _valid()
    assert (valid.timezone, valid.scale, valid.theme, valid.annotations) == ("UTC", 1.0, "light", ())


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
                                  "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Australia/Lord_Howe"])
def test_real_zones_are_taken(zone):
    assert _valid(timezone=zone).timezone == zone


@pytest.mark.parametrize("zone", [
    "", "Mars/Olympus_Mons", "utc ", "../../etc/passwd", "/etc/localtime", "America/../Europe/Berlin",
    "America//New_York", "America/New_York/", "localtime", "posixrules", "Factory", "America/New_York\x00",
    "Europe/Berlin\n", "A" * 65, "America/" + "x" * 300, "%2e%2e/etc", "C:\\Windows", "America/New York",
    "<script>", "EST5EDT;rm -rf /",
])
def test_anything_not_a_real_zone_is_refused_naming_timezone(zone):
    assert list(_refused(timezone=zone)) == ["timezone"]


@pytest.mark.parametrize("scale", [1, 1.5, 2, 2.75, 3])
def test_scales_from_one_to_three(scale):
    assert _valid(scale=scale).scale == scale


@pytest.mark.parametrize("scale", [0, 0.99, 3.0001, -2, 100, float("nan"), float("inf"), float("-inf"), 1e308])
def test_other_scales_are_refused_naming_scale(scale):
    assert list(_refused(scale=scale)) == ["scale"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_two_themes(theme):
    assert _valid(theme=theme).theme == theme


@pytest.mark.parametrize("theme", ["", "Dark", "DARK", "solarized", "dark ", "<b>dark</b>", "x" * 1000])
def test_other_themes_are_refused_naming_theme(theme):
    assert list(_refused(theme=theme)) == ["theme"]


def test_annotation_names_or_star():
    assert _valid(annotations=("deploys", "Outages")).annotations == ("deploys", "outages")  # names are case blind
    assert _valid(annotations=("*",)).annotations == ("*",)


@pytest.mark.parametrize("names", [
    ("*", "deploys"), ("deploys", "*"), ("",), ("has space",), ("<script>",), ("x" * 256,), ("../x",),
    tuple(f"s{i}" for i in range(MAX_SNAPSHOT_ANNOTATIONS + 1)),
])
def test_bad_annotation_lists_are_refused_naming_annotations(names):
    assert all(field.startswith("annotations") for field in _refused(annotations=names))


def test_every_bad_option_is_named_in_one_reply():
    assert set(_refused(timezone="Nowhere/Else", scale=9, theme="neon")) == {"timezone", "scale", "theme"}


# -- the gateway: types only, each naming its field --------------------------------------------------------------

def _body(**fields) -> dict:  # noqa: ANN003
    return {"subject": {"chart": {"id": 1, "type": "line"}}, **fields}


def test_the_gateway_carries_each_option():
    rpc = translate.create_snapshot(_body(timezone="Europe/Berlin", scale="2", theme="dark",
                                          annotations=["deploys", "outages"]))
    assert (rpc.timezone, rpc.scale, rpc.theme, list(rpc.annotations)) == (
        "Europe/Berlin", 2.0, "dark", ["deploys", "outages"])
    unset = translate.create_snapshot(_body())
    assert not any(unset.HasField(f) for f in ("timezone", "scale", "theme")) and not unset.annotations


def test_a_form_body_carries_them_too():
    # Rails-style forms send every value as a string, lists as indexed keys.
    rpc = translate.create_snapshot(_body(scale="1.5", annotations={"0": "deploys", "1": "*"}))
    assert rpc.scale == 1.5 and list(rpc.annotations) == ["deploys", "*"]


@pytest.mark.parametrize("field, value", [
    ("timezone", {"a": 1}), ("timezone", ["UTC"]), ("timezone", "x" * 65),
    ("scale", "two"), ("scale", "NaN"), ("scale", "Infinity"), ("scale", True), ("scale", [2]),
    ("theme", ["dark"]), ("theme", "x" * 17),
    ("annotations", "deploys"), ("annotations", [{"name": "x"}]), ("annotations", ["x" * 256]),
    ("annotations", ["s"] * (MAX_SNAPSHOT_ANNOTATIONS + 1)),
])
def test_the_gateway_refuses_wrong_types_naming_the_field(field, value):
    with pytest.raises(errors.InvalidParams) as caught:
        translate.create_snapshot(_body(**{field: value}))
    assert list(caught.value.fields) == [field]


def test_the_idempotency_digest_covers_every_option():
    base = dict(subject=snapshots_pb2.SnapshotSubject(chart_id=1, chart_type="line"), idempotency_key="k")
    digests = {idempotency_claim(snapshots_pb2.CreateSnapshotRequest(**base, **extra)).request_sha256
               for extra in ({}, {"timezone": "UTC"}, {"timezone": "Europe/Berlin"}, {"scale": 2.0},
                             {"theme": "dark"}, {"annotations": ["deploys"]}, {"annotations": ["*"]})}
    assert len(digests) == 7
