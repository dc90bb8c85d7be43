"""annotation_rules: stream names, link hrefs (an attacker's URLs refused),
titles and times, a snapshot's `annotations` option."""

from __future__ import annotations

import pytest

from chartsnap.bounds import MAX_SNAPSHOT_ANNOTATIONS
from chartsnap.errors import ParamErrors
from snapshot_svc import annotation_rules as rules


@pytest.mark.parametrize("href", [
    "https://github.com/org/app/commit/01beaf", "http://ci.acme.com/job/api/34", "HTTPS://EXAMPLE.COM",
    "https://example.com:8443/a?b=c#d", "http://[::1]:8080/x",
])
def test_good_hrefs(href: str) -> None:
    assert rules.is_link_href(href)


@pytest.mark.parametrize("href", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://example.com/",
    "//example.com/x", "/relative", "example.com", "https://", "https://user:pw@example.com/",
    "https://user@example.com/", "https://exa mple.com/", "https://example.com/\nX", "https://example.com:99999/",
    "https://example.com/\x00", "http://[::1/", "", "https://example.com/" + "a" * rules.MAX_LINK_HREF,
])
def test_hostile_or_broken_hrefs(href: str) -> None:
    assert not rules.is_link_href(href)


def test_links_are_bounded_unique_and_complete() -> None:
    problems = ParamErrors()
    links = rules.links([{"rel": "a", "href": "https://a.test/", "label": " A "},
                         {"rel": "a", "href": "https://b.test/"}, {"href": "https://c.test/"}], problems)
    assert links == [rules.Link("a", "https://a.test/", "A")]
    assert set(problems.fields) == {"links[1].rel", "links[2].rel"}
    problems = ParamErrors()
    assert rules.links([{"rel": str(i), "href": "https://a.test/"} for i in range(rules.MAX_LINKS + 1)],
                       problems) == []
    assert list(problems.fields) == ["links"]


def test_names_titles_and_times() -> None:
    problems = ParamErrors()
    assert rules.stream_name("API-Deploys.v2:x_y", "name", problems) == "api-deploys.v2:x_y"
    assert rules.stream_name("has space", "name", problems) == ""
    assert rules.stream_name("x" * 256, "name2", problems) == ""
    assert rules.bounded_text("  t  ", "title", 255, problems, required=True) == "t"
    assert rules.bounded_text("", "title2", 255, problems, required=True) is None
    rules.times(10, 9, problems)
    assert set(problems.fields) == {"name", "name2", "title2", "end_time"}


def test_a_snapshots_annotations_option() -> None:
    problems = ParamErrors()
    assert rules.snapshot_streams(["Deploys", "deploys", "outages"], problems) == ["deploys", "outages"]
    assert rules.snapshot_streams(["*"], problems) == ["*"]
    assert not problems
    rules.snapshot_streams(["*", "deploys"], problems)
    rules.snapshot_streams(["bad name"], problems, field="x")
    rules.snapshot_streams([f"s{i}" for i in range(MAX_SNAPSHOT_ANNOTATIONS + 1)], problems, field="y")
    assert set(problems.fields) == {"annotations", "x[0]", "y"}
