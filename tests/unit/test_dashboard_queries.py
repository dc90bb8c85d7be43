"""The PromQL reader of tests/dashboard_queries.py (which names a query
selects, and that it refuses what is not PromQL), the check of those names
against an exposition, and the shape of deploy/grafana/chartsnap.json. The
live check, against every service's /metrics, is
tests/e2e/test_dashboard_metrics.py."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest

from tests.dashboard_queries import (MetricRef, PromQLError, exported_metrics, is_exported, load_dashboard,
                                     metric_names, metric_refs, panels, queries, unexported)


@pytest.mark.parametrize("expr, names", [
    ("histogram_quantile(0.99, sum by (le) (rate(chartsnap_x_bucket[5m])))", {"chartsnap_x"}),
    ("sum by (type, outcome) (rate(chartsnap_deliveries_total[$__rate_interval]))", {"chartsnap_deliveries_total"}),
    ('sum(rate(chartsnap_rpc_seconds_count{method="CreateSnapshot", code!~"OK|CANCELLED"}[5m])) by (method)',
     {"chartsnap_rpc_seconds"}),
    ("rate(a_sum[5m]) / rate(a_count[5m])", {"a"}),
    ("sum(slots) - sum(serving)", {"slots", "serving"}),
    ("a / on (instance) group_left (pod) b > bool 0 and c offset 1h unless d @ end()", {"a", "b", "c", "d"}),
    ('{__name__="by_name", le="0.5"} + {"quoted.name"}', {"by_name", "quoted.name"}),
    ('label_replace(up, "host", "$1", "instance", "(.*):.*")', {"up"}),
    ("max_over_time(rate(x_total[5m])[30m:1m]) * -Inf", {"x_total"}),
    ('topk(5, count_values("version", build_info)) # a comment naming not_a_metric', {"build_info"}),
    ("job:request_rate:5m", {"job:request_rate:5m"}),
])
def test_names_are_found_and_nothing_else(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_only_a_whole_histogram_suffix_is_stripped() -> None:
    assert [(r.metric, r.suffix) for r in metric_refs("a_bucket + b_count + _count + c_countx + d_total")] == [
        ("a", "_bucket"), ("b", "_count"), ("_count", ""), ("c_countx", ""), ("d_total", "")]


@pytest.mark.parametrize("expr", [
    "",
    "rat(x[5m])",                         # no such function
    "sum(x",                              # unclosed
    "sum(x))",                            # unbalanced
    "x{a=1}",                             # unquoted value
    'x{a="b" c="d"}',                     # missing comma
    'x{a=="b"}',                          # not a matcher
    "x[5]]",
    "x[5m",
    "[5m]",
    "sum by le (x)",                      # label list needs brackets
    "rate(x[5m]) y",                      # two operands, no operator
    "topk(5 x)",
    "x +",
    "x \\ y",                             # unknown character
    'x{a="unterminated}',
    "x offset",
    "5x",
    "start()",                            # only after @
])
def test_what_is_not_promql_is_refused(expr: str) -> None:
    with pytest.raises(PromQLError):
        metric_refs(expr)


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    registry = CollectorRegistry()
    Histogram("chartsnap_x", "h", registry=registry).observe(1)
    Counter("chartsnap_things", "c", ["kind"], registry=registry).labels("a").inc()
    Gauge("chartsnap_slots", "g", registry=registry).set(2)
    Gauge("chartsnap_queue_count", "a gauge whose name ends in _count", registry=registry).set(1)
    Summary("chartsnap_s", "s", registry=registry).observe(1)
    return exported_metrics(generate_latest(registry).decode())


def test_an_exposition_names_metrics_as_promql_selects_them(exported: dict[str, str]) -> None:
    assert {k: v for k, v in exported.items() if not k.endswith("_created")} == {
        "chartsnap_x": "histogram", "chartsnap_things_total": "counter", "chartsnap_slots": "gauge",
        "chartsnap_queue_count": "gauge", "chartsnap_s": "summary"}


def test_exported_names_pass(exported: dict[str, str]) -> None:
    for expr in ("histogram_quantile(0.99, sum by (le) (rate(chartsnap_x_bucket[5m])))",
                 "rate(chartsnap_x_sum[5m]) / rate(chartsnap_x_count[5m])",
                 'sum by (kind) (rate(chartsnap_things_total{kind="a"}[5m]))',
                 "chartsnap_slots - chartsnap_queue_count", "rate(chartsnap_s_count[1m]) + chartsnap_s"):
        assert unexported(expr, exported) == [], expr


@pytest.mark.parametrize("expr, missing", [
    ("histogram_quantile(0.99, sum by (le) (rate(chartsnap_nope_bucket[5m])))", ["chartsnap_nope_bucket"]),
    ("rate(chartsnap_things[5m])", ["chartsnap_things"]),               # a counter's series end in _total
    ("chartsnap_slots_bucket", ["chartsnap_slots_bucket"]),             # a gauge has no buckets
    ("chartsnap_x", ["chartsnap_x"]),                                   # a histogram has no bare series
    ("chartsnap_s_bucket", ["chartsnap_s_bucket"]),                     # a summary has no buckets
    ("chartsnap_queue_bucket", ["chartsnap_queue_bucket"]),
    ("chartsnap_slots + chartsnap_slot", ["chartsnap_slot"]),
])
def test_unknown_names_are_refused(exported: dict[str, str], expr: str, missing: list[str]) -> None:
    assert unexported(expr, exported) == missing
    assert not all(is_exported(ref, exported) for ref in metric_refs(expr))


def test_a_bare_name_ending_in_a_suffix_is_looked_up_as_written(exported: dict[str, str]) -> None:
    assert is_exported(MetricRef("chartsnap_queue_count"), exported)
    assert not is_exported(MetricRef("chartsnap_queue_sum"), exported)


# --- the dashboard's shape --------------------------------------------------------

@pytest.fixture(scope="module")
def dashboard() -> dict:
    return load_dashboard()


def test_the_dashboard_is_for_a_current_grafana_with_a_datasource_variable(dashboard: dict) -> None:
    assert dashboard["schemaVersion"] >= 39
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    assert dashboard["uid"] == "chartsnap" and dashboard["id"] is None


def test_every_panel_queries_the_chosen_prometheus(dashboard: dict) -> None:
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    found = list(panels(dashboard))
    assert len(found) >= 12
    for panel in found:
        assert panel["datasource"] == chosen, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == chosen, panel["title"]
    ids = [p["id"] for p in dashboard["panels"]] + [p["id"] for p in found if p not in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"


def test_every_query_is_promql_naming_a_chartsnap_metric_or_the_process(dashboard: dict) -> None:
    for title, expr in queries(dashboard):
        names = metric_names(expr)
        assert names, (title, expr)
        assert all(n.startswith(("chartsnap_", "process_")) for n in names), (title, names)


def test_the_panels_tile_the_grid_without_overlapping(dashboard: dict) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


def test_the_rows_cover_every_service(dashboard: dict) -> None:
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    for service in ("Gateway", "Snapshot", "Render", "Notifier"):
        assert any(title.startswith(service) for title in rows), (service, rows)
